package dcom

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// HResultName agrees with tshark's dcom.hresult names wherever it names a value, and names
// the activation failures that matter for firewall diagnosis.
func TestHResultNamesAgainstTshark(t *testing.T) {
	raw, err := os.ReadFile("testdata/hresult.tshark")
	if err != nil {
		t.Fatal(err)
	}
	agreed := 0
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		v, name, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("bad line %q", line)
		}
		hr, err := strconv.ParseUint(strings.TrimPrefix(v, "0x"), 16, 32)
		if err != nil {
			t.Fatal(err)
		}
		got := HResultName(uint32(hr))
		if strings.HasPrefix(got, "0x") {
			continue // not named here (DISP_E_*, TYPE_E_*, ...)
		}
		if got != name {
			t.Errorf("%s: %s, tshark %s", v, got, name)
		}
		agreed++
	}
	if agreed < 15 {
		t.Errorf("only %d names shared with tshark", agreed)
	}
	for hr, name := range map[uint32]string{
		0x80070005: "E_ACCESSDENIED", 0x80040154: "REGDB_E_CLASSNOTREG", 0x80080005: "CO_E_SERVER_EXEC_FAILURE",
		0x800706ba: "RPC_S_SERVER_UNAVAILABLE", 0x80004002: "E_NOINTERFACE", 1722: "RPC_S_SERVER_UNAVAILABLE",
		1910: "OR_INVALID_OXID", 0x12345678: "0x12345678",
	} {
		if got := HResultName(hr); got != name {
			t.Errorf("%#x: %s, want %s", hr, got, name)
		}
	}
}
