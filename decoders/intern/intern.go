// Package intern hands out one string per distinct byte sequence, for code that decodes
// many messages whose names and texts repeat (Kerberos realms and principals, the flows'
// summaries): each is allocated once.
package intern

// Table is a bounded set of strings: at most Max strings of at most MaxLen bytes. Past
// that, strings are made anew each time, so memory stays bounded whatever the input; a
// string handed out stays valid. The zero value with its bounds set is ready to use.
type Table struct {
	Max, MaxLen int
	m           map[string]string
}

// String returns b as a string, the same string for the same bytes while the table has
// room. A nil table interns nothing.
func (t *Table) String(b []byte) string {
	if t == nil {
		return string(b)
	}
	if s, ok := t.m[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(t.m) < t.Max && len(s) <= t.MaxLen {
		if t.m == nil {
			t.m = map[string]string{}
		}
		t.m[s] = s
	}
	return s
}

// Len is how many strings the table holds.
func (t *Table) Len() int { return len(t.m) }
