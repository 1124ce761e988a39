package analyzer

import (
	"encoding/json"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"time"
)

// appendFlowJSON appends fr as encoding/json would write it (compact), faster: a report
// line is written for every flow of the capture. details is fr.Details already encoded.
func appendFlowJSON(b []byte, fr *FlowReport, details []byte) []byte {
	b = append(b, `{"transport":`...)
	b = appendJSONString(b, fr.Transport)
	b = append(b, `,"client":`...)
	b = appendJSONAddr(b, fr.Client)
	b = append(b, `,"client_port":`...)
	b = strconv.AppendUint(b, uint64(fr.ClientPort), 10)
	b = append(b, `,"server":`...)
	b = appendJSONAddr(b, fr.Server)
	b = append(b, `,"server_port":`...)
	b = strconv.AppendUint(b, uint64(fr.ServerPort), 10)
	b = append(b, `,"service":`...)
	b = appendJSONString(b, fr.Service)
	b = append(b, `,"outcome":`...)
	b = appendJSONString(b, fr.Outcome)
	b = append(b, `,"packets":`...)
	b = strconv.AppendInt(b, int64(fr.Packets), 10)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, fr.Bytes, 10)
	b = append(b, `,"first":`...)
	b = appendJSONTime(b, fr.First)
	b = append(b, `,"last":`...)
	b = appendJSONTime(b, fr.Last)
	if fr.RPCInterface != "" {
		b = append(b, `,"rpc_interface":`...)
		b = appendJSONString(b, fr.RPCInterface)
	}
	if fr.Details != nil {
		if details == nil {
			details, _ = json.Marshal(fr.Details)
		}
		b = append(b, `,"details":`...)
		b = append(b, details...)
	}
	b = append(b, `,"first_frame":`...)
	b = strconv.AppendInt(b, int64(fr.FirstFrame), 10)
	if fr.Capture != "" {
		b = append(b, `,"capture":`...)
		b = appendJSONString(b, fr.Capture)
	}
	b = append(b, `,"packets_to_server":`...)
	b = strconv.AppendInt(b, int64(fr.PacketsToSrv), 10)
	b = append(b, `,"packets_to_client":`...)
	b = strconv.AppendInt(b, int64(fr.PacketsToCli), 10)
	b = append(b, `,"bytes_to_server":`...)
	b = strconv.AppendInt(b, fr.BytesToSrv, 10)
	b = append(b, `,"bytes_to_client":`...)
	b = strconv.AppendInt(b, fr.BytesToCli, 10)
	if fr.SYNs != 0 {
		b = append(b, `,"syns":`...)
		b = strconv.AppendInt(b, int64(fr.SYNs), 10)
	}
	if fr.End != "" {
		b = append(b, `,"end":`...)
		b = appendJSONString(b, fr.End)
	}
	b = appendJSONValue(b, `,"icmp":`, fr.ICMP != nil, fr.ICMP)
	b = appendJSONValue(b, `,"rpc_assigned_by":`, fr.RPCAssignedBy != nil, fr.RPCAssignedBy)
	if fr.RPCMismatch != "" {
		b = append(b, `,"rpc_bind_mismatch":`...)
		b = appendJSONString(b, fr.RPCMismatch)
	}
	if fr.LostAt != "" {
		b = append(b, `,"lost_at":`...)
		b = appendJSONString(b, fr.LostAt)
	}
	b = appendJSONValue(b, `,"where":`, fr.Where != nil, fr.Where)
	if fr.Summary != "" {
		b = append(b, `,"summary":`...)
		b = appendJSONString(b, fr.Summary)
	}
	return append(b, '}')
}

func appendJSONValue(b []byte, key string, present bool, v any) []byte {
	if !present {
		return b
	}
	js, err := json.Marshal(v)
	if err != nil {
		return b
	}
	return append(append(b, key...), js...)
}

// appendJSONString quotes s as encoding/json does (HTML characters escaped too).
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			js, _ := json.Marshal(s)
			return append(b, js...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendJSONAddr(b []byte, a netip.Addr) []byte {
	b = append(b, '"')
	if a.IsValid() {
		b = a.AppendTo(b)
	}
	return append(b, '"')
}

func appendJSONTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// removeTemp unlinks a temporary file that stays open (it goes when the process ends);
// Windows cannot unlink an open file, so there it stays in the temporary folder.
func removeTemp(f *os.File) {
	if runtime.GOOS != "windows" {
		os.Remove(f.Name())
	}
}
