// Command demo writes testdata/captures/demo-enrollment-blocked.pcapng: a synthetic
// enrollment where tcp/636 to the DC and the CA's dynamic RPC port are dropped by a
// firewall while everything else works. Synthetic (made with analyzer/capgen, not by real
// software): it shows the report's shape; the lab captures beside it are the real ones.
//
//	go run ./testdata/gen/demo testdata/captures/demo-enrollment-blocked.pcapng
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/adcsflow/adcsflow/analyzer/capgen"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: demo OUTPUT.pcapng")
		os.Exit(2)
	}
	c := capgen.New()
	cl := "10.0.1.20"
	dc := "10.0.0.10"
	ca := "10.0.0.20"
	ap := func(a string, p int) string { return fmt.Sprintf("%s:%d", a, p) }
	// DNS and CLDAP answered
	c.UDPPacket(capgen.AP(ap(cl, 53001)), capgen.AP(ap(dc, 53)), []byte("dns query"))
	c.UDPPacket(capgen.AP(ap(dc, 53)), capgen.AP(ap(cl, 53001)), []byte("dns answer"))
	c.UDPPacket(capgen.AP(ap(cl, 53002)), capgen.AP(ap(dc, 389)), []byte("cldap"))
	c.UDPPacket(capgen.AP(ap(dc, 389)), capgen.AP(ap(cl, 53002)), []byte("cldap reply"))
	// Kerberos over TCP 88 works
	k := c.Dial(capgen.AP(ap(cl, 50100)), capgen.AP(ap(dc, 88)), 100, 0).Accept()
	k.Send(true, []byte("as-req"), 0)
	k.Send(false, []byte("as-rep"), 0)
	k.Close()
	// LDAP 389 works, LDAPS 636 is dropped
	k = c.Dial(capgen.AP(ap(cl, 50101)), capgen.AP(ap(dc, 389)), 200, 0).Accept()
	k.Send(true, []byte("search"), 0)
	k.Send(false, []byte("entries"), 0)
	k.Close()
	c.Dial(capgen.AP(ap(cl, 50102)), capgen.AP(ap(dc, 636)), 300, 3)
	// the endpoint mapper on the CA answers, the dynamic port it hands out is dropped
	k = c.Dial(capgen.AP(ap(cl, 50103)), capgen.AP(ap(ca, 135)), 400, 0).Accept()
	k.Send(true, []byte("ept_map"), 0)
	k.Send(false, []byte("tower"), 0)
	k.Close()
	c.Wait(10 * time.Millisecond)
	c.Dial(capgen.AP(ap(cl, 50104)), capgen.AP(ap(ca, 49712)), 500, 4)
	f, err := os.Create(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := c.WritePcapng(f); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
