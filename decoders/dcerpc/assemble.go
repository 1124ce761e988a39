package dcerpc

import "errors"

// Default limits of a CallAssembler.
const (
	DefaultMaxCallBytes = 4 << 20 // stub bytes per call
	DefaultMaxCalls     = 64      // calls in flight per direction and connection
)

var (
	// ErrCallTooLarge means a call's stub grew beyond the byte cap; the call is dropped.
	ErrCallTooLarge = errors.New("dcerpc: call stub over size cap")
	// ErrTooManyCalls means too many calls are in flight; the new call is dropped.
	ErrTooManyCalls = errors.New("dcerpc: too many calls in flight")
	// ErrNoFirstFrag means a fragment arrived for a call whose first fragment was not seen.
	ErrNoFirstFrag = errors.New("dcerpc: fragment without first fragment")
)

type callKey struct {
	callID   uint32
	response bool
}

// CallAssembler joins the stub data of multi-fragment requests and responses on one
// connection, keyed by call id and direction (request vs response). It is the only
// stateful helper in this package; it holds at most MaxCalls calls of at most
// MaxCallBytes each. The zero value is ready to use with the default limits.
type CallAssembler struct {
	MaxCallBytes int // 0 means DefaultMaxCallBytes
	MaxCalls     int // 0 means DefaultMaxCalls

	calls map[callKey][]byte
}

// Add feeds one request or response PDU (other types are ignored). When p completes a
// call (PFC_LAST_FRAG) it returns the whole stub and done=true; a single-fragment call
// returns p.Stub itself without copying. Fragments are expected in order, as TCP
// delivers them. On ErrCallTooLarge the call is dropped; on ErrTooManyCalls the new call
// is not tracked. A fault for a call id discards its pending response.
func (a *CallAssembler) Add(p *PDU) (stub []byte, done bool, err error) {
	if p == nil {
		return nil, false, nil
	}
	var key callKey
	switch p.PType {
	case PTypeRequest:
		key = callKey{p.CallID, false}
	case PTypeResponse:
		key = callKey{p.CallID, true}
	case PTypeFault:
		delete(a.calls, callKey{p.CallID, true})
		return nil, false, nil
	default:
		return nil, false, nil
	}
	maxBytes := a.MaxCallBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxCallBytes
	}
	maxCalls := a.MaxCalls
	if maxCalls <= 0 {
		maxCalls = DefaultMaxCalls
	}
	first, last := p.FirstFrag(), p.LastFrag()
	if first {
		delete(a.calls, key) // a new first fragment restarts the call
		if last {
			if len(p.Stub) > maxBytes {
				return nil, false, ErrCallTooLarge
			}
			return p.Stub, true, nil
		}
		if a.calls == nil {
			a.calls = make(map[callKey][]byte)
		}
		if len(a.calls) >= maxCalls {
			return nil, false, ErrTooManyCalls
		}
		if len(p.Stub) > maxBytes {
			return nil, false, ErrCallTooLarge
		}
		a.calls[key] = append([]byte(nil), p.Stub...)
		return nil, false, nil
	}
	buf, ok := a.calls[key]
	if !ok {
		return nil, false, ErrNoFirstFrag
	}
	if len(p.Stub) > maxBytes-len(buf) {
		delete(a.calls, key)
		return nil, false, ErrCallTooLarge
	}
	buf = append(buf, p.Stub...)
	if last {
		delete(a.calls, key)
		return buf, true, nil
	}
	a.calls[key] = buf
	return nil, false, nil
}

// Pending reports how many calls are waiting for more fragments.
func (a *CallAssembler) Pending() int { return len(a.calls) }

// Reset drops all pending calls.
func (a *CallAssembler) Reset() { a.calls = nil }
