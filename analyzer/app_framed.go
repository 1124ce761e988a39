package analyzer

import "errors"

// Limits on what one flow's details hold, so that a long flow cannot grow them without end.
const (
	maxDetailItems = 256 // messages / operations / requests listed per flow
	maxDetailSet   = 32  // distinct realms, names, search bases
	maxMalformed   = 8
)

// errNeedMore is the common "wait for more bytes" answer of the framers; each decoder has
// its own sentinel, mapped here.
var errNeedMore = errors.New("need more")

// framer cuts one message off the front of a stream: it returns the message length, or
// errNeedMore, or another error when the bytes cannot be this protocol.
type framer func([]byte) (int, error)

// adaptFrame turns a decoder's framing function and its "need more" sentinel into a
// framer: a length longer than the bytes at hand also means "wait".
func adaptFrame(frame func([]byte) (int, error), needMore error) framer {
	return func(b []byte) (int, error) {
		n, err := frame(b)
		if err == needMore || (err == nil && n > len(b)) {
			return 0, errNeedMore
		}
		return n, err
	}
}

// feedFramed runs a framer over data and hands each whole message to msg. It returns the
// bytes consumed. A framing error is reported as malformed and ends decoding (everything
// is consumed so that the bytes are not offered again).
func feedFramed(c *appCtx, data []byte, frame framer, msg func([]byte)) int {
	used := 0
	for used < len(data) {
		n, err := frame(data[used:])
		if err == errNeedMore {
			return used
		}
		if err != nil || n <= 0 || n > len(data)-used {
			if err == nil {
				err = errors.New("bad frame length")
			}
			c.malformed(err.Error())
			c.a.stopBuffering(c.f, "")
			return len(data)
		}
		msg(data[used : used+n])
		used += n
	}
	return used
}

// malformed notes that bytes on the flow could not be decoded.
func (c *appCtx) malformed(why string) {
	d := &c.f.Details
	if len(d.Malformed) < maxMalformed {
		d.Malformed = append(d.Malformed, "frame "+itoa(c.frame.Frame)+": "+why)
	}
}

func addUnique(list []string, s string) []string {
	if s == "" || len(list) >= maxDetailSet {
		return list
	}
	return appendUnique(list, s)
}

func addItem(list []string, s string) []string {
	if len(list) >= maxDetailItems {
		return list
	}
	return append(list, s)
}
