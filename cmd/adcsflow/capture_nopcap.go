//go:build !cgo && !windows

package main

import (
	"fmt"
	"io"
)

// Live capture on Linux and macOS calls libpcap through cgo; a binary built with
// CGO_ENABLED=0 has no capture, only file analysis.
const noCaptureHelp = `adcsflow capture: live capture is not available in this build: it was built without cgo
(CGO_ENABLED=0), and capture calls libpcap through cgo. Rebuild with cgo and the libpcap
headers:
  apt-get install libpcap-dev   (Debian/Ubuntu; dnf install libpcap-devel on Fedora/RHEL)
  CGO_ENABLED=1 go build -o adcsflow ./cmd/adcsflow
or capture with tcpdump/dumpcap/Wireshark and run: adcsflow analyze FILE
`

func runCapture(o captureOptions, stdout, stderr io.Writer) int {
	fmt.Fprint(stderr, noCaptureHelp)
	return exitBadInput
}

func listInterfaces(stdout, stderr io.Writer) int {
	fmt.Fprint(stderr, noCaptureHelp)
	return exitBadInput
}
