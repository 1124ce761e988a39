package dcom_test

import (
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/adcsflow/adcsflow/decoders/dcom"
)

// A stream analyzer that has reassembled the response stub of a call on a connection
// bound to ISystemActivator (opnum from the matching request) asks for the bindings; each
// ncacn_ip_tcp binding with a port is a dynamic port assignment.
func ExampleParseResponse() {
	h, _ := os.ReadFile("testdata/zeek_f11_createinstance_resp.hex")
	stub, _ := hex.DecodeString(strings.TrimSpace(string(h)))
	act, err := dcom.ParseResponse(dcom.IIDSystemActivator, dcom.OpRemoteCreateInstance, stub)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(act.Method, act.HResultName)
	for _, b := range act.Bindings {
		if b.TowerID == dcom.TowerNCACNIPTCP && b.Port != 0 {
			fmt.Println(b.Host, b.Port)
		}
	}
	// Output:
	// RemoteCreateInstance S_OK
	// BLACKCLOVER-DC 49718
	// 10.10.10.100 49718
}
