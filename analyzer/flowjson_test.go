package analyzer

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"
)

// TestAppendFlowJSONMatchesEncodingJSON: the fast report line is byte for byte what
// encoding/json writes, on every flow of the real captures.
func TestAppendFlowJSONMatchesEncodingJSON(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(sharedCaptures, "*.pcap*"))
	lab, _ := filepath.Glob("../testdata/captures/lab-*.pcapng")
	paths = append(paths, lab...)
	n := 0
	for _, p := range paths {
		rep, _ := AnalyzeFiles([]string{p}, Options{Workers: 1})
		for i := range rep.Flows {
			fr := &rep.Flows[i]
			want, err := json.Marshal(fr)
			if err != nil {
				t.Fatal(err)
			}
			if got := appendFlowJSON(nil, fr, nil); !bytes.Equal(got, want) {
				t.Fatalf("%s flow %d:\n got %s\nwant %s", p, i, got, want)
			}
			n++
		}
	}
	if n < 100 {
		t.Fatalf("only %d flows compared", n)
	}
}
