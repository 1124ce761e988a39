package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/adcsflow/adcsflow/analyzer"
)

// Flags shared by analyze, diff and rules for roles and the baseline.
var diffFlags = map[string]bool{"baseline": true, "role": true, "roles": true}

// applyRoleFlags applies --role and --roles to the report's hosts.
func applyRoleFlags(rep *analyzer.Report, flags map[string][]string) error {
	var overrides []analyzer.RoleOverride
	for _, v := range flags["role"] {
		o, err := analyzer.ParseRoleOverride(v)
		if err != nil {
			return fmt.Errorf("--role %v", err)
		}
		overrides = append(overrides, o)
	}
	for _, file := range flags["roles"] {
		list, err := analyzer.ReadRolesFile(file)
		if err != nil {
			return fmt.Errorf("--roles: %v", err)
		}
		overrides = append(overrides, list...)
	}
	if len(overrides) == 0 {
		return nil
	}
	return rep.ApplyRoles(overrides)
}

// applyDiffFlags applies --role/--roles and recomputes the diff against --baseline (the
// documented table by default) and the rules with the new roles.
func applyDiffFlags(rep *analyzer.Report, flags map[string][]string) (*analyzer.Baseline, error) {
	b, err := analyzer.LoadBaseline(last(flags, "baseline", "documented"))
	if err != nil {
		return nil, fmt.Errorf("--baseline: %v", err)
	}
	if len(flags["role"])+len(flags["roles"]) == 0 && b.Name == "documented" && b.File == "builtin:documented" {
		return b, nil // the report already has the diff against it and the rules
	}
	if err := applyRoleFlags(rep, flags); err != nil {
		return nil, err
	}
	rep.Diff = rep.DiffAgainst(b)
	rep.Rules = rep.BuildRules(analyzer.RuleOptions{})
	return b, nil
}

func withFlags(base map[string]bool, more ...string) map[string]bool {
	m := map[string]bool{}
	for k, v := range base {
		m[k] = v
	}
	for _, k := range more {
		m[k] = true
	}
	return m
}

// cmdBaseline prints a built-in baseline (or a file, checked), or lists them.
func cmdBaseline(args []string, stdout, stderr io.Writer) int {
	flags, pos, err := splitArgs(args, map[string]bool{"format": true, "f": true}, nil)
	if err != nil || len(pos) > 1 {
		if err == nil {
			err = usageErr("one baseline at a time")
		}
		fmt.Fprintf(stderr, "adcsflow baseline: %v\n", err)
		return exitBadInput
	}
	format := last(flags, "format", last(flags, "f", "yaml"))
	if len(pos) == 0 {
		fmt.Fprintf(stdout, "built-in baselines (adcsflow baseline NAME prints one; --baseline FILE uses your own):\n")
		for _, n := range analyzer.BaselineNames() {
			b, err := analyzer.BuiltinBaseline(n)
			if err != nil {
				fmt.Fprintf(stderr, "adcsflow baseline: %v\n", err)
				return exitBadInput
			}
			fmt.Fprintf(stdout, "  %-11s %d rows  %s\n", n, len(b.Rows), b.Title)
		}
		return exitOK
	}
	b, err := analyzer.LoadBaseline(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "adcsflow baseline: %v\n", err)
		return exitBadInput
	}
	switch format {
	case "yaml":
		stdout.Write(b.Text)
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(b)
	case "table", "text":
		fmt.Fprintf(stdout, "%s: %s\n%s\n\n", b.Name, b.Title, b.Source)
		for _, row := range b.Rows {
			fmt.Fprintf(stdout, "%-4s %-45s %-7s %-12s %s\n", row.ID, row.Label(), row.Transport, row.Ports, row.Description)
			if row.Comment != "" {
				fmt.Fprintf(stdout, "     comment: %s\n", row.Comment)
			}
			if row.Reason != "" {
				fmt.Fprintf(stdout, "     why: %s\n", row.Reason)
			}
			if row.Documented != "" {
				fmt.Fprintf(stdout, "     in the documented table: %s", row.Documented)
				if row.VsDocumented != "" {
					fmt.Fprintf(stdout, " (%s)", row.VsDocumented)
				}
				fmt.Fprintln(stdout)
			}
		}
	default:
		fmt.Fprintf(stderr, "adcsflow baseline: unknown format %q (yaml, table, json)\n", format)
		return exitBadInput
	}
	return exitOK
}

// cmdDiff compares the captures with a baseline. Exit 1 when a required flow was blocked.
func cmdDiff(args []string, stdout, stderr io.Writer) int {
	flags, files, err := splitArgs(args, withFlags(diffFlags, "format", "f", "max-flows", "workers"), nil)
	if err != nil {
		fmt.Fprintf(stderr, "adcsflow diff: %v\n", err)
		return exitBadInput
	}
	if len(files) == 0 {
		fmt.Fprintf(stderr, "adcsflow diff: no capture file given\n\n%s", usage)
		return exitBadInput
	}
	format := last(flags, "format", last(flags, "f", "text"))
	if format != "text" && format != "json" {
		fmt.Fprintf(stderr, "adcsflow diff: unknown format %q (text, json)\n", format)
		return exitBadInput
	}
	opts, ok := analysisOptions(flags, "diff", stderr)
	if !ok {
		return exitBadInput
	}
	// Check the baseline and roles file before reading captures.
	if _, err := analyzer.LoadBaseline(last(flags, "baseline", "documented")); err != nil {
		fmt.Fprintf(stderr, "adcsflow diff: --baseline: %v\n", err)
		return exitBadInput
	}
	rep, readErr := analyzer.AnalyzeFiles(files, opts)
	defer rep.Close()
	b, err := applyDiffFlags(rep, flags)
	if err != nil {
		fmt.Fprintf(stderr, "adcsflow diff: %v\n", err)
		return exitBadInput
	}
	blocked := analyzer.DiffHasBlocked(rep.Diff)
	switch format {
	case "json":
		diff := rep.Diff
		if diff == nil {
			diff = []analyzer.DiffRow{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(map[string]any{
			"version": analyzer.ReportVersion, "captures": rep.Captures,
			"baseline": map[string]string{"name": b.Name, "title": b.Title, "source": b.Source, "file": b.File},
			"hosts":    rep.Hosts, "diff": diff, "blocked": blocked,
		})
	default:
		s := rep.Summary
		fmt.Fprintf(stdout, "adcsflow diff - %s: %d packets, %d flows; baseline %q: %s\n  source: %s\n\n",
			strings.Join(files, ", "), s.Packets, s.Flows, b.Name, b.Title, oneLine(b.Source))
		err = rep.WriteDiffText(stdout, analyzer.TextOptions{Width: terminalWidth(os.Stdout, stdout)})
	}
	if err != nil {
		fmt.Fprintf(stderr, "adcsflow diff: writing: %v\n", err)
		return exitBadInput
	}
	if st := inputStatus(rep, readErr, "stderr", stderr); st != exitOK {
		return st
	}
	if blocked {
		return exitBlocked
	}
	return exitOK
}

// cmdRules prints the minimal rule set for the captures.
func cmdRules(args []string, stdout, stderr io.Writer) int {
	flags, files, err := splitArgs(args, withFlags(map[string]bool{"role": true, "roles": true}, "format", "f", "aggregate", "max-flows", "workers"), nil)
	if err != nil {
		fmt.Fprintf(stderr, "adcsflow rules: %v\n", err)
		return exitBadInput
	}
	if len(files) == 0 {
		fmt.Fprintf(stderr, "adcsflow rules: no capture file given\n\n%s", usage)
		return exitBadInput
	}
	format := last(flags, "format", last(flags, "f", "table"))
	known := false
	for _, f := range analyzer.RuleFormats {
		known = known || f == format
	}
	if !known {
		fmt.Fprintf(stderr, "adcsflow rules: unknown format %q (%s)\n", format, strings.Join(analyzer.RuleFormats, ", "))
		return exitBadInput
	}
	var ropts analyzer.RuleOptions
	if v := last(flags, "aggregate", ""); v != "" {
		if ropts, err = analyzer.ParseAggregate(v); err != nil {
			fmt.Fprintf(stderr, "adcsflow rules: %v\n", err)
			return exitBadInput
		}
	}
	opts, ok := analysisOptions(flags, "rules", stderr)
	if !ok {
		return exitBadInput
	}
	rep, readErr := analyzer.AnalyzeFiles(files, opts)
	defer rep.Close()
	if err := applyRoleFlags(rep, flags); err != nil {
		fmt.Fprintf(stderr, "adcsflow rules: %v\n", err)
		return exitBadInput
	}
	rules := rep.BuildRules(ropts)
	if err := analyzer.WriteRules(stdout, rules, format, strings.Join(files, ", "), terminalWidth(os.Stdout, stdout)); err != nil {
		fmt.Fprintf(stderr, "adcsflow rules: %v\n", err)
		return exitBadInput
	}
	return inputStatus(rep, readErr, "stderr", stderr)
}

// analysisOptions reads the flags every analysing command takes: --max-flows, --workers.
func analysisOptions(flags map[string][]string, cmd string, stderr io.Writer) (analyzer.Options, bool) {
	var opts analyzer.Options
	for _, o := range []struct {
		flag string
		to   *int
	}{{"max-flows", &opts.MaxFlows}, {"workers", &opts.Workers}} {
		if v := last(flags, o.flag, ""); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				fmt.Fprintf(stderr, "adcsflow %s: --%s wants a positive number, not %q\n", cmd, o.flag, v)
				return opts, false
			}
			*o.to = n
		}
	}
	return opts, true
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
