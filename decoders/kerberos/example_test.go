package kerberos_test

import (
	"encoding/hex"
	"fmt"

	"github.com/adcsflow/adcsflow/decoders/kerberos"
)

// A stream reader on TCP 88 or 464 buffers bytes until FrameTCP says a whole record is there,
// then hands the record (without its mark) to Parse, or the whole record to ParseKpasswd.
func ExampleFrameTCP() {
	// The KRB-ERROR of ndpi kerberos-error.pcap frame 2, given a TCP record mark and split
	// over two segments.
	msg, _ := hex.DecodeString("7e643062a003020105a10302011ea411180f32303232303232323037343630345aa50502030ec26da603020134a9111b0f4c494e55582e5348454c4c2e434f4daa243022a003020102a11b30191b066b72627467741b0f4c494e55582e5348454c4c2e434f4d")
	stream := append([]byte{0, 0, 0, byte(len(msg))}, msg...)
	var buf []byte
	for _, seg := range [][]byte{stream[:2], stream[2:50], stream[50:]} {
		buf = append(buf, seg...)
		n, err := kerberos.FrameTCP(buf)
		if err == kerberos.ErrNeedMore || (err == nil && len(buf) < n) {
			continue // wait for more bytes
		}
		if err != nil {
			fmt.Println("malformed:", err)
			return
		}
		m, err := kerberos.Parse(buf[4:n])
		if err != nil {
			fmt.Println("malformed:", err)
			return
		}
		fmt.Println(m.TypeName(), m.ErrorCode, m.ErrorName(), m.Realm, m.SName, m.IsResponseTooBig())
		buf = buf[n:]
	}
	// Output: KRB-ERROR 52 KRB_ERR_RESPONSE_TOO_BIG LINUX.SHELL.COM krbtgt/LINUX.SHELL.COM true
}
