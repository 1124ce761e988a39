package analyzer

import (
	"encoding/json"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"time"
	"unicode/utf8"
)

// appendFlowJSON appends fr as encoding/json would write it (compact), faster: a report
// line is written for every flow of the capture. details, when not empty, is fr.Details
// already encoded (a flow read back from the spill has only that).
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
	if len(details) > 0 || fr.Details != nil {
		if len(details) == 0 {
			details = appendDetailsJSON(nil, fr.Details)
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
	if x := fr.ICMP; x != nil {
		o := jsonObject{b: append(b, `,"icmp":{`...)}
		o.int("type", int64(x.Type))
		o.int("code", int64(x.Code))
		o.str("name", x.Name)
		o.b = appendJSONAddr(o.key("from"), x.From)
		o.int("frame", int64(x.Frame))
		o.boolean("firewall", x.Firewall)
		b = append(o.b, '}')
	}
	if x := fr.RPCAssignedBy; x != nil {
		o := jsonObject{b: append(b, `,"rpc_assigned_by":{`...)}
		o.int("frame", int64(x.Frame))
		o.b = appendJSONTime(o.key("time"), x.Time)
		o.str("via", x.Via)
		b = append(o.b, '}')
	}
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

// jsonSafe tells the bytes a JSON string holds as they are: ASCII but the control
// characters, the quote, the backslash and what encoding/json escapes for HTML (<, >, &).
var jsonSafe = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendJSONString quotes s as encoding/json does: ", \\ and control characters escaped,
// the HTML characters <, > and & as \u003c \u003e \u0026, invalid UTF-8 as \ufffd, and
// U+2028 and U+2029 escaped (TestAppendJSONStringIsEncodingJSON, FuzzAppendJSONString).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if jsonSafe[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
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

// appendDetailsJSON appends d as encoding/json writes it. The details most flows carry
// (Kerberos, kpasswd, LDAP, TLS, DCE/RPC) are written by hand, being encoded for every flow
// of a capture; HTTP's go through encoding/json.
func appendDetailsJSON(b []byte, d *Details) []byte {
	if d.HTTP != nil {
		js, _ := json.Marshal(d)
		return append(b, js...)
	}
	o := jsonObject{b: append(b, '{')}
	if k := d.Kerberos; k != nil {
		o.key("kerberos")
		o.b = appendKerberosJSON(o.b, k)
	}
	if k := d.Kpasswd; k != nil {
		ko := jsonObject{b: append(o.key("kpasswd"), '{')}
		ko.strings("messages", k.Messages, false)
		ko.strings("versions", k.Versions, true)
		if len(k.ResultCodes) > 0 {
			ko.b = appendJSONInts(ko.key("result_codes"), k.ResultCodes)
		}
		ko.strings("result_names", k.ResultNames, true)
		ko.kerberosErrors(k.Errors)
		o.b = append(ko.b, '}')
	}
	if l := d.LDAP; l != nil {
		lo := jsonObject{b: append(o.key("ldap"), '{')}
		lo.strings("operations", l.Operations, false)
		lo.objects("results", len(l.Results), func(i int, ro *jsonObject) {
			r := &l.Results[i]
			ro.str("operation", r.Operation)
			ro.int("code", int64(r.Code))
			ro.str("name", r.Name)
			if r.Diagnostic != "" {
				ro.str("diagnostic", r.Diagnostic)
			}
		})
		lo.strings("bind_mechanisms", l.BindMechanisms, true)
		lo.boolean("sasl_protected", l.SASLProtected)
		lo.boolean("starttls", l.StartTLS)
		lo.strings("search_bases", l.SearchBases, true)
		lo.strings("filters", l.Filters, true)
		lo.strings("adcs_discovery", l.ADCSDiscovery, true)
		if l.NetlogonPing {
			lo.boolean("netlogon_ping", true)
		}
		o.b = append(lo.b, '}')
	}
	if t := d.TLS; t != nil {
		o.b = appendTLSJSON(o.key("tls"), t)
	}
	if r := d.DCERPC; r != nil {
		o.b = appendRPCJSON(o.key("dcerpc"), r)
	}
	o.strings("malformed", d.Malformed, true)
	o.strings("notes", d.Notes, true)
	return append(o.b, '}')
}

func appendTLSJSON(b []byte, t *TLSDetails) []byte {
	o := jsonObject{b: append(b, '{')}
	o.strOmitEmpty("sni", t.SNI)
	o.strings("alpn", t.ALPN, true)
	o.strings("offered_versions", t.OfferedVersions, true)
	o.strOmitEmpty("version", t.Version)
	o.strOmitEmpty("cipher_suite", t.CipherSuite)
	o.objects("alerts", len(t.Alerts), func(i int, ao *jsonObject) {
		ao.str("level", t.Alerts[i].Level)
		ao.str("description", t.Alerts[i].Description)
	})
	o.boolean("handshake_complete", t.HandshakeComplete)
	if c := t.Certificate; c != nil {
		co := jsonObject{b: append(o.key("certificate"), '{')}
		co.str("subject", c.Subject)
		co.strOmitEmpty("issuer", c.Issuer)
		co.strings("sans", c.SANs, true)
		co.strOmitEmpty("not_before", c.NotBefore)
		co.strOmitEmpty("not_after", c.NotAfter)
		if c.Chain != 0 {
			co.int("chain", int64(c.Chain))
		}
		co.strOmitEmpty("error", c.Error)
		o.b = append(co.b, '}')
	}
	return append(o.b, '}')
}

func appendRPCJSON(b []byte, r *DCERPCDetails) []byte {
	o := jsonObject{b: append(b, '{')}
	o.objects("binds", len(r.Binds), func(i int, bo *jsonObject) {
		x := &r.Binds[i]
		bo.str("interface_uuid", x.InterfaceUUID)
		bo.strOmitEmpty("interface", x.Interface)
		bo.strOmitEmpty("version", x.Version)
		bo.strOmitEmpty("result", x.Result)
		if x.Frame != 0 {
			bo.int("frame", int64(x.Frame))
		}
	})
	o.objects("calls", len(r.Calls), func(i int, co *jsonObject) {
		x := &r.Calls[i]
		co.strOmitEmpty("interface", x.Interface)
		co.int("opnum", int64(x.Opnum))
		co.strOmitEmpty("operation", x.Operation)
		co.int("count", int64(x.Count))
	})
	o.objects("faults", len(r.Faults), func(i int, fo *jsonObject) {
		fo.str("status", r.Faults[i].Status)
		fo.strOmitEmpty("name", r.Faults[i].Name)
	})
	if a := r.Auth; a != nil {
		ao := jsonObject{b: append(o.key("auth"), '{')}
		ao.str("type", a.Type)
		ao.str("level", a.Level)
		ao.strOmitEmpty("target", a.Target)
		o.b = append(ao.b, '}')
	}
	if r.Encrypted {
		o.boolean("encrypted", true)
	}
	o.strings("pipes", r.Pipes, true)
	o.strOmitEmpty("secondary_address", r.SecondaryAddress)
	return append(o.b, '}')
}

func appendKerberosJSON(b []byte, k *KerberosDetails) []byte {
	o := jsonObject{b: append(b, '{')}
	o.strings("messages", k.Messages, false)
	o.kerberosErrors(k.Errors)
	o.strings("realms", k.Realms, true)
	o.strings("snames", k.SNames, true)
	o.strings("cnames", k.CNames, true)
	if len(k.ETypes) > 0 {
		o.b = appendJSONInts(o.key("etypes"), k.ETypes)
	}
	o.strings("notes", k.Notes, true)
	return append(o.b, '}')
}

// jsonObject appends the members of one JSON object.
type jsonObject struct {
	b []byte
	n int
}

func (o *jsonObject) key(name string) []byte {
	if o.n > 0 {
		o.b = append(o.b, ',')
	}
	o.n++
	o.b = append(o.b, '"')
	o.b = append(o.b, name...)
	o.b = append(o.b, '"', ':')
	return o.b
}

func (o *jsonObject) str(name, v string) {
	o.key(name)
	o.b = appendJSONString(o.b, v)
}

// strOmitEmpty writes a string member, left out when empty (omitempty).
func (o *jsonObject) strOmitEmpty(name, v string) {
	if v != "" {
		o.str(name, v)
	}
}

func (o *jsonObject) boolean(name string, v bool) {
	o.key(name)
	o.b = strconv.AppendBool(o.b, v)
}

// strings writes a []string member: null when nil, left out when empty and omitEmpty.
func (o *jsonObject) strings(name string, list []string, omitEmpty bool) {
	if omitEmpty && len(list) == 0 {
		return
	}
	o.array(name, len(list), list == nil, func(b []byte, i int) []byte { return appendJSONString(b, list[i]) })
}

func (o *jsonObject) kerberosErrors(list []KerberosError) {
	o.objects("errors", len(list), func(i int, eo *jsonObject) {
		eo.int("code", int64(list[i].Code))
		eo.str("name", list[i].Name)
		if list[i].EText != "" {
			eo.str("e_text", list[i].EText)
		}
	})
}

func (o *jsonObject) int(name string, v int64) {
	o.key(name)
	o.b = strconv.AppendInt(o.b, v, 10)
}

// array writes an array member of n elements, each appended by fn: null when isNil (a nil
// slice, as encoding/json writes it), [] when n is 0.
func (o *jsonObject) array(name string, n int, isNil bool, fn func(b []byte, i int) []byte) {
	o.key(name)
	if isNil {
		o.b = append(o.b, "null"...)
		return
	}
	o.b = append(o.b, '[')
	for i := 0; i < n; i++ {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		o.b = fn(o.b, i)
	}
	o.b = append(o.b, ']')
}

// objects writes an array member of n objects, each written by fn; left out when n is 0.
func (o *jsonObject) objects(name string, n int, fn func(i int, e *jsonObject)) {
	if n == 0 {
		return
	}
	o.key(name)
	o.b = append(o.b, '[')
	for i := 0; i < n; i++ {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		e := jsonObject{b: append(o.b, '{')}
		fn(i, &e)
		o.b = append(e.b, '}')
	}
	o.b = append(o.b, ']')
}

// appendJSONInts appends a JSON array of integers.
func appendJSONInts[T int | int32](b []byte, list []T) []byte {
	b = append(b, '[')
	for i, v := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(v), 10)
	}
	return append(b, ']')
}

// appendIndentJSON appends src, compact JSON as encoding/json writes it (no spaces outside
// strings), indented as json.Indent(dst, src, prefix, indent) indents it: one pass that
// only looks for the structural bytes, where json.Indent runs its validating scanner on
// every byte (TestAppendIndentJSONIsJSONIndent, FuzzAppendIndentJSON). The diff rows and
// rules of a large capture are tens of megabytes of indented JSON.
func appendIndentJSON(dst, src []byte, prefix, indent string) []byte {
	depth := 0
	open := false // after '{' or '[': a newline is due unless the value is empty
	newline := func() {
		dst = append(dst, '\n')
		dst = append(dst, prefix...)
		for range depth {
			dst = append(dst, indent...)
		}
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch c {
		case '}', ']':
			depth--
			if open {
				open = false
			} else {
				newline()
			}
			dst = append(dst, c)
			continue
		}
		if open {
			open = false
			newline()
		}
		switch c {
		case '{', '[':
			dst = append(dst, c)
			depth++
			open = true
		case ',':
			dst = append(dst, c)
			newline()
		case ':':
			dst = append(dst, ':', ' ')
		case '"':
			j := i + 1
			for j < len(src) && src[j] != '"' {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			j = min(j, len(src)-1)
			dst = append(dst, src[i:j+1]...)
			i = j
		default:
			j := i + 1
			for j < len(src) && !jsonStructural[src[j]] {
				j++
			}
			dst = append(dst, src[i:j]...)
			i = j - 1
		}
	}
	return dst
}

// jsonStructural marks the bytes appendIndentJSON acts on.
var jsonStructural = [256]bool{'{': true, '}': true, '[': true, ']': true, ',': true, ':': true, '"': true}

// appendDiffRowJSON appends d as encoding/json writes it (compact): a large capture's diff
// rows list up to 200 flows each (TestAppendDiffRowJSONIsEncodingJSON).
func appendDiffRowJSON(b []byte, d *DiffRow) []byte {
	o := jsonObject{b: append(b, '{')}
	o.str("baseline", d.Baseline)
	o.str("rule", d.Rule)
	o.str("status", d.Status)
	o.strOmitEmpty("reason", d.Reason)
	o.array("flows", len(d.Flows), d.Flows == nil, func(b []byte, i int) []byte {
		return appendFlowJSON(b, &d.Flows[i], nil)
	})
	o.int("flows_total", int64(d.FlowsTotal))
	o.strOmitEmpty("row", d.RowID)
	o.strOmitEmpty("match", d.Match)
	o.strings("blocked", d.Blocked, true)
	o.boolean("required", d.Required)
	return append(o.b, '}')
}

// appendRuleJSON appends r as encoding/json writes it (compact): a large capture has
// thousands of rules with up to 50 pieces of evidence each (TestAppendRuleJSONIsEncodingJSON).
func appendRuleJSON(b []byte, r *Rule) []byte {
	o := jsonObject{b: append(b, '{')}
	o.strings("from", r.From, false)
	o.strings("to", r.To, false)
	o.str("transport", r.Transport)
	o.str("ports", r.Ports)
	o.str("why", r.Why)
	o.str("status", r.Status)
	o.strings("to_names", r.ToNames, true)
	o.strings("to_roles", r.ToRoles, true)
	o.strings("services", r.Services, true)
	o.strings("unblocks", r.Unblocks, true)
	o.array("evidence", len(r.Evidence), r.Evidence == nil, func(b []byte, i int) []byte {
		e := &r.Evidence[i]
		eo := jsonObject{b: append(b, '{')}
		eo.str("client", e.Client)
		eo.str("server", e.Server)
		eo.int("port", int64(e.Port))
		eo.str("service", e.Service)
		eo.str("outcome", e.Outcome)
		eo.int("first_frame", int64(e.FirstFrame))
		eo.str("first", e.First)
		eo.strOmitEmpty("capture", e.Capture)
		return append(eo.b, '}')
	})
	o.int("flow_count", int64(r.FlowCount))
	if r.Dynamic {
		o.boolean("dynamic", true)
	}
	o.strOmitEmpty("dynamic_range", r.DynamicRange)
	o.strOmitEmpty("warning", r.Warning)
	return append(o.b, '}')
}
