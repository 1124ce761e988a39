package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/adcsflow/adcsflow/analyzer"
)

func cmdAnalyze(args []string, stdout, stderr io.Writer) int {
	flags, files, err := splitArgs(args, withFlags(diffFlags, "format", "f", "max-flows", "workers", "point", "cpuprofile", "memprofile"), nil)
	if err != nil {
		fmt.Fprintf(stderr, "adcsflow analyze: %v\n", err)
		return exitBadInput
	}
	// --point NAME=FILE: a capture with the name of the point it was taken at (twopoint.go).
	var pointNames []string
	if pts := flags["point"]; len(pts) > 0 {
		var named []string
		for _, p := range pts {
			name, file, ok := strings.Cut(p, "=")
			if !ok || name == "" || file == "" {
				fmt.Fprintf(stderr, "adcsflow analyze: --point wants NAME=FILE (e.g. --point client=client.pcapng), not %q\n", p)
				return exitBadInput
			}
			named, pointNames = append(named, file), append(pointNames, name)
		}
		files = append(named, files...)
	}
	if len(files) == 0 {
		fmt.Fprintf(stderr, "adcsflow analyze: no capture file given\n\n%s", usage)
		return exitBadInput
	}
	format := last(flags, "format", last(flags, "f", "text"))
	switch format {
	case "text", "json", "csv", "markdown", "md", "html":
	default:
		fmt.Fprintf(stderr, "adcsflow analyze: unknown format %q (text, json, csv, markdown, html)\n", format)
		return exitBadInput
	}
	opts, ok := analysisOptions(flags, "analyze", stderr)
	if !ok {
		return exitBadInput
	}
	opts.PointNames = pointNames
	stop, err := startProfiles(last(flags, "cpuprofile", ""), last(flags, "memprofile", ""))
	if err != nil {
		fmt.Fprintf(stderr, "adcsflow analyze: %v\n", err)
		return exitBadInput
	}
	defer stop()
	rep, readErr := analyzer.AnalyzeFiles(files, opts)
	defer rep.Close()
	if _, err := applyDiffFlags(rep, flags); err != nil { // diff.go: --baseline, --role, --roles
		fmt.Fprintf(stderr, "adcsflow analyze: %v\n", err)
		return exitBadInput
	}
	if err := writeReport(rep, format, stdout); err != nil {
		fmt.Fprintf(stderr, "adcsflow analyze: writing the report: %v\n", err)
		return exitBadInput
	}
	return inputStatus(rep, readErr, format, stderr)
}

// inputStatus prints read problems on stderr and gives the exit status for them.
func inputStatus(rep *analyzer.Report, readErr error, format string, stderr io.Writer) int {
	for _, c := range rep.Captures {
		for _, w := range c.Warnings {
			if format != "text" || c.Unreadable {
				fmt.Fprintf(stderr, "adcsflow: %s\n", w)
			}
		}
	}
	if readErr != nil && errors.Is(readErr, analyzer.ErrUnreadable) {
		return exitBadInput
	}
	return exitOK
}

func writeReport(rep *analyzer.Report, format string, w io.Writer) error {
	switch format {
	case "json":
		return rep.WriteJSON(w)
	case "csv":
		return rep.WriteCSV(w)
	case "markdown", "md": // markdown.go: with a Mermaid flowchart
		return rep.WriteMarkdown(w)
	case "html": // html.go: one self-contained page
		return rep.WriteHTML(w)
	}
	return rep.WriteText(w, analyzer.TextOptions{Width: terminalWidth(os.Stdout, w)})
}

// terminalWidth is the width to fold tables to: the terminal's when writing to one.
func terminalWidth(stdout *os.File, w io.Writer) int {
	if w != io.Writer(stdout) {
		return 0
	}
	st, err := stdout.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return 0
	}
	if c, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && c > 20 {
		return c
	}
	return ttyWidth(stdout)
}
