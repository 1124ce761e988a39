package analyzer

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// The built-in baselines: YAML files embedded in the binary.
//
//go:embed baselines/*.yaml
var baselineFS embed.FS

// Baseline is a table of flows a firewall is expected to allow: the documented table of the
// AD CS firewall blog post, or what a real enrollment needs (baselines/*.yaml).
type Baseline struct {
	Name      string        `yaml:"name" json:"name"`
	Title     string        `yaml:"title" json:"title"`
	Source    string        `yaml:"source" json:"source"`
	Published string        `yaml:"published,omitempty" json:"published,omitempty"`
	Updated   string        `yaml:"updated,omitempty" json:"updated,omitempty"`
	Rows      []BaselineRow `yaml:"rows" json:"rows"`

	// File is where the baseline came from ("builtin:NAME" or a path); Text its YAML.
	File string `yaml:"-" json:"file"`
	Text []byte `yaml:"-" json:"-"`
}

// BaselineRow is one flow of a baseline. The *_text fields, action and comment keep the
// source's own wording; From, To, Transport and Ports are what flows are matched with.
type BaselineRow struct {
	ID       string `yaml:"id" json:"id"`
	Name     string `yaml:"name" json:"name"`
	Protocol string `yaml:"protocol,omitempty" json:"protocol,omitempty"`
	PortText string `yaml:"port_text,omitempty" json:"port_text,omitempty"`
	FromText string `yaml:"from_text,omitempty" json:"from_text,omitempty"`
	ToText   string `yaml:"to_text,omitempty" json:"to_text,omitempty"`
	Action   string `yaml:"action,omitempty" json:"action,omitempty"`
	Comment  string `yaml:"comment,omitempty" json:"comment,omitempty"`

	// From and To are roles: client, ces, cep, ca, dc, or any.
	From []string `yaml:"from" json:"from"`
	To   []string `yaml:"to" json:"to"`
	// Transport is tcp, udp or tcp+udp.
	Transport string `yaml:"transport" json:"transport"`
	// Ports: a port, a list, ranges, and "dynamic" (the RPC dynamic ranges and any port the
	// endpoint mapper or DCOM handed out in the capture): "88", "3268,3269", "135,dynamic".
	Ports       string `yaml:"ports" json:"ports"`
	Description string `yaml:"description" json:"description"`
	// Reason says why the flow is needed; VsDocumented what the documented table lacks.
	Reason       string `yaml:"reason,omitempty" json:"reason,omitempty"`
	Documented   string `yaml:"documented,omitempty" json:"documented,omitempty"`
	VsDocumented string `yaml:"vs_documented,omitempty" json:"vs_documented,omitempty"`
	// Optional rows are needed only in some situations (kpasswd: password change).
	Optional bool `yaml:"optional,omitempty" json:"optional,omitempty"`

	Line int `yaml:"-" json:"line"`

	ports      PortSet
	transports []string
}

// PortSet is a parsed "ports" value.
type PortSet struct {
	Ranges  [][2]uint16
	Dynamic bool
}

// ParsePortSet parses "88", "3268,3269", "49152-65535", "dynamic", "135,dynamic".
func ParsePortSet(s string) (PortSet, error) {
	var ps PortSet
	if strings.TrimSpace(s) == "" {
		return ps, errors.New("no ports")
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if strings.EqualFold(part, "dynamic") {
			ps.Dynamic = true
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := parsePort(lo)
		if err != nil {
			return ps, err
		}
		b := a
		if isRange {
			if b, err = parsePort(hi); err != nil {
				return ps, err
			}
			if b < a {
				return ps, fmt.Errorf("port range %q ends before it starts", part)
			}
		}
		ps.Ranges = append(ps.Ranges, [2]uint16{a, b})
	}
	return ps, nil
}

func parsePort(s string) (uint16, error) {
	s = strings.TrimSpace(s)
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("%q is not a port (1-65535, a range a-b, or dynamic)", s)
	}
	return uint16(n), nil
}

// Has reports whether a fixed port is in the set (dynamic excluded).
func (ps PortSet) Has(port uint16) bool {
	for _, r := range ps.Ranges {
		if port >= r[0] && port <= r[1] {
			return true
		}
	}
	return false
}

// dynamicFlow reports whether a flow goes to a dynamic RPC port: one the endpoint mapper or
// DCOM handed out in the capture, or an RPC flow in one of the dynamic ranges.
func dynamicFlow(f *Flow) bool {
	if f.Transport != "tcp" {
		return false
	}
	if f.RPCAssignment != nil {
		return true
	}
	return InDynamicRange(f.Server.Port()) && strings.HasPrefix(f.Service, "msrpc")
}

// MatchesPort reports whether the row's transport and ports cover the flow.
func (row *BaselineRow) MatchesPort(f *Flow) bool { return row.matchesPort(f, f.Server.Port()) }

// matchesPort is MatchesPort for f on port (a view's: see flowView.Server).
func (row *BaselineRow) matchesPort(f *Flow, port uint16) bool {
	ok := false
	for _, t := range row.transports {
		if t == f.Transport {
			ok = true
		}
	}
	if !ok {
		return false
	}
	if row.ports.Dynamic && dynamicFlow(f) {
		return true
	}
	return row.ports.Has(port)
}

// Label names the row as the diff shows it: "LDAP 636 CES -> DC".
func (row *BaselineRow) Label() string {
	n := row.Name
	if n == "" {
		n = row.Protocol + " " + row.Ports
	}
	return n + " " + roleList(row.From, true) + " -> " + roleList(row.To, false)
}

// Required reports whether a blocked flow of this row makes the enrollment fail.
func (row *BaselineRow) Required() bool { return !row.Optional }

var roleWords = map[string][2]string{
	RoleClient: {"clients", "clients"}, RoleCES: {"CES", "CES"}, RoleCEP: {"CEP", "CEP"},
	RoleCA: {"CA", "CA"}, RoleDC: {"DC", "DC"}, RoleAny: {"any", "any"},
}

func roleList(roles []string, from bool) string {
	var out []string
	for _, r := range roles {
		w, ok := roleWords[r]
		if !ok {
			out = append(out, r)
			continue
		}
		if from {
			out = append(out, w[0])
		} else {
			out = append(out, w[1])
		}
	}
	return strings.Join(out, ", ")
}

// BaselineNames lists the built-in baselines.
func BaselineNames() []string {
	ents, _ := baselineFS.ReadDir("baselines")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(out)
	return out
}

var (
	builtinOnce sync.Once
	builtins    map[string]*Baseline
	builtinErr  error
)

// BuiltinBaseline returns a built-in baseline by name.
func BuiltinBaseline(name string) (*Baseline, error) {
	builtinOnce.Do(func() {
		builtins = map[string]*Baseline{}
		for _, n := range BaselineNames() {
			b, err := baselineFS.ReadFile(path.Join("baselines", n+".yaml"))
			if err == nil {
				var bl *Baseline
				bl, err = ParseBaseline(b, "builtin:"+n)
				if err == nil {
					builtins[n] = bl
				}
			}
			if err != nil {
				builtinErr = errors.Join(builtinErr, err)
			}
		}
	})
	if b, ok := builtins[name]; ok {
		return b, nil
	}
	if builtinErr != nil {
		return nil, builtinErr
	}
	return nil, fmt.Errorf("no built-in baseline %q (built in: %s)", name, strings.Join(BaselineNames(), ", "))
}

// mustBuiltin returns a built-in baseline; the embedded files are checked by the tests.
func mustBuiltin(name string) *Baseline {
	b, err := BuiltinBaseline(name)
	if err != nil {
		panic(err)
	}
	return b
}

// LoadBaseline returns the built-in baseline of that name, or reads the file.
func LoadBaseline(nameOrFile string) (*Baseline, error) {
	for _, n := range BaselineNames() {
		if n == nameOrFile {
			return BuiltinBaseline(n)
		}
	}
	b, err := os.ReadFile(nameOrFile)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && !strings.ContainsAny(nameOrFile, "/.\\") {
			return nil, fmt.Errorf("%q is neither a built-in baseline (%s) nor a file", nameOrFile,
				strings.Join(BaselineNames(), ", "))
		}
		return nil, err
	}
	return ParseBaseline(b, nameOrFile)
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// ParseBaseline reads a baseline from YAML. Errors name the file and line: "f.yaml:12: ...".
func ParseBaseline(text []byte, file string) (*Baseline, error) {
	fail := func(line int, format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", file, line, fmt.Sprintf(format, args...))
	}
	yerr := func(err error) error {
		var te *yaml.TypeError
		msgs := []string{err.Error()}
		if errors.As(err, &te) {
			msgs = te.Errors
		}
		var out []error
		for _, m := range msgs {
			if sm := yamlLine.FindStringSubmatch(m); sm != nil {
				n, _ := strconv.Atoi(sm[1])
				out = append(out, fail(n, "%s", sm[2]))
			} else {
				out = append(out, fmt.Errorf("%s: %s", file, strings.TrimPrefix(m, "yaml: ")))
			}
		}
		return errors.Join(out...)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return nil, yerr(err)
	}
	if len(doc.Content) == 0 {
		return nil, fail(1, "empty baseline: want name, title, source and rows")
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fail(root.Line, "a baseline is a mapping with name, title, source and rows")
	}
	dec := yaml.NewDecoder(bytes.NewReader(text))
	dec.KnownFields(true)
	b := &Baseline{}
	if err := dec.Decode(b); err != nil {
		return nil, yerr(err)
	}
	b.File, b.Text = file, text
	if b.Name == "" {
		return nil, fail(root.Line, "the baseline has no name")
	}
	rowsNode := mapValue(root, "rows")
	if rowsNode == nil || len(b.Rows) == 0 {
		line := root.Line
		if rowsNode != nil {
			line = rowsNode.Line
		}
		return nil, fail(line, "the baseline has no rows")
	}
	ids := map[string]int{}
	for i := range b.Rows {
		row := &b.Rows[i]
		rn := rowsNode.Content[i]
		row.Line = rn.Line
		at := func(key string) int {
			if v := mapValue(rn, key); v != nil {
				return v.Line
			}
			return rn.Line
		}
		if row.ID == "" {
			row.ID = strconv.Itoa(i + 1)
		}
		if prev, dup := ids[row.ID]; dup {
			return nil, fail(at("id"), "row id %q already used on line %d", row.ID, prev)
		}
		ids[row.ID] = row.Line
		if row.Name == "" && row.Protocol == "" {
			return nil, fail(rn.Line, "row %s: give it a name (or a protocol)", row.ID)
		}
		for _, side := range []struct {
			key   string
			roles []string
		}{{"from", row.From}, {"to", row.To}} {
			if len(side.roles) == 0 {
				return nil, fail(at(side.key), "row %s: %q lists no role (client, ces, cep, ca, dc, any)", row.ID, side.key)
			}
			for _, r := range side.roles {
				if !validRole(r) {
					return nil, fail(at(side.key), "row %s: unknown role %q in %q (client, ces, cep, ca, dc, any)", row.ID, r, side.key)
				}
			}
		}
		switch strings.ToLower(row.Transport) {
		case "tcp":
			row.transports = []string{"tcp"}
		case "udp":
			row.transports = []string{"udp"}
		case "tcp+udp", "udp+tcp", "tcp,udp", "udp,tcp":
			row.transports = []string{"tcp", "udp"}
		default:
			return nil, fail(at("transport"), "row %s: transport %q: want tcp, udp or tcp+udp", row.ID, row.Transport)
		}
		ps, err := ParsePortSet(row.Ports)
		if err != nil {
			return nil, fail(at("ports"), "row %s: ports: %v", row.ID, err)
		}
		row.ports = ps
		switch row.Documented {
		case "", "yes", "no", "partly":
		default:
			return nil, fail(at("documented"), "row %s: documented %q: want yes, partly or no", row.ID, row.Documented)
		}
		if row.Description == "" {
			return nil, fail(rn.Line, "row %s: no description", row.ID)
		}
	}
	return b, nil
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
