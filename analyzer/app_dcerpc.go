package analyzer

import (
	"slices"
	"strconv"
	"strings"

	"github.com/adcsflow/adcsflow/decoders/dcerpc"
	"github.com/adcsflow/adcsflow/decoders/dcom"
	"github.com/adcsflow/adcsflow/decoders/gssapi"
	"github.com/adcsflow/adcsflow/decoders/kerberos"
	"github.com/adcsflow/adcsflow/decoders/smb"
)

func init() {
	registerProtocol(&protocol{
		name: "dcerpc", tcp: true, ports: []uint16{135},
		detect: byContent(dcerpc.LooksLike, dcerpc.HeaderLen),
		newHandler: func(f *Flow) appHandler {
			if f.Server.Port() == 135 {
				f.Service = "epm"
			} else {
				f.Service = "msrpc"
			}
			return &rpcHandler{conn: newRPCConn()}
		},
	})
	registerProtocol(&protocol{
		name: "smb", tcp: true, ports: []uint16{445, 139},
		detect: func(dir int, b []byte) detection {
			// On 139 the session request (0x81) and its answer come before any SMB.
			for len(b) > 0 && b[0] >= 0x81 && b[0] <= 0x85 {
				n, err := smb.FrameNBSS(b)
				if err != nil || n > len(b) {
					break
				}
				b = b[n:]
			}
			if smb.LooksLike(b) {
				return detectYes
			}
			if len(b) < 8 {
				return detectMaybe
			}
			return detectNo
		},
		newHandler: func(f *Flow) appHandler {
			f.Service = "smb"
			return &smbHandler{pipes: map[string]*rpcConn{}, byMsg: map[uint64]string{}}
		},
	})
}

var rpcFrame = adaptFrame(dcerpc.Frame, dcerpc.ErrNeedMore)

// rpcHandler decodes DCE/RPC over a TCP connection (the endpoint mapper on 135 and the
// dynamic ports).
type rpcHandler struct {
	conn *rpcConn
}

func (h *rpcHandler) gap(c *appCtx, dir int) { h.conn.asm.Reset() }

func (h *rpcHandler) feed(c *appCtx, dir int, data []byte) int {
	return feedFramed(c, data, rpcFrame, func(b []byte) { h.conn.pdu(c, dir, b) })
}

// smbHandler takes the DCE/RPC out of SMB named pipes, one rpcConn per pipe handle.
type smbHandler struct {
	pipes     map[string]*rpcConn
	byMsg     map[uint64]string // request message id -> file id, for responses that lack it
	encrypted bool
}

func (h *smbHandler) gap(c *appCtx, dir int) {}

var smbFrame = adaptFrame(smb.FrameNBSS, smb.ErrNeedMore)

const maxPipes = 64

func (h *smbHandler) feed(c *appCtx, dir int, data []byte) int {
	return feedFramed(c, data, smbFrame, func(b []byte) {
		if len(b) <= smb.NBSSHeaderLen {
			return
		}
		msg := b[smb.NBSSHeaderLen:]
		if name, ok := smb.CreatePipeName(msg); ok {
			d := rpcDetails(c)
			d.Pipes = addUnique(d.Pipes, name)
		}
		payloads, err := smb.PipePayloads(msg)
		if err == smb.ErrEncrypted && !h.encrypted {
			h.encrypted = true
			c.f.Details.Notes = addUnique(c.f.Details.Notes, "SMB3 encrypted: named pipes cannot be read")
		}
		for _, p := range payloads {
			id := p.FileID
			if !p.Response && id != "" && len(h.byMsg) < 4096 {
				h.byMsg[p.MessageID] = id
			}
			if id == "" {
				id = h.byMsg[p.MessageID]
				delete(h.byMsg, p.MessageID)
			}
			conn := h.pipes[id]
			if conn == nil {
				if len(h.pipes) >= maxPipes {
					continue
				}
				conn = newRPCConn()
				h.pipes[id] = conn
			}
			d := dir
			if p.Response {
				d = 1
			}
			// Each pipe write or read carries whole PDUs in practice; a PDU cut across
			// SMB messages is skipped rather than guessed.
			rest := p.Data
			for len(rest) >= dcerpc.HeaderLen && dcerpc.LooksLike(rest) {
				n, err := dcerpc.Frame(rest)
				if err != nil || n > len(rest) {
					break
				}
				conn.pdu(c, d, rest[:n])
				rest = rest[n:]
			}
		}
	})
}

// rpcConn is the state of one DCE/RPC association: presentation contexts, binds awaiting
// their ack, calls awaiting their response.
type rpcConn struct {
	// The accepted presentation contexts, the binds awaiting their answer (their contexts)
	// and the calls awaiting their response: a few each, kept in slices (maps cost an
	// allocation or two per connection, and an entry one more).
	ctx   byID[uint16, rpcContext]
	binds byID[uint32, []rpcBindCtx]
	calls byID[uint32, rpcCall]
	asm   dcerpc.CallAssembler
	// The room for a usual connection's, in the one allocation of the connection.
	ctxRoom  [2]idEntry[uint16, rpcContext]
	bindRoom [1]idEntry[uint32, []rpcBindCtx]
	callRoom [2]idEntry[uint32, rpcCall]
}

// byID is one of a connection's short lists, its entries found by their id.
type byID[K comparable, V any] []idEntry[K, V]

type idEntry[K comparable, V any] struct {
	id K
	v  V
}

// find returns the value of id (valid until the list changes), or nil.
func (l byID[K, V]) find(id K) *V {
	for i := range l {
		if l[i].id == id {
			return &l[i].v
		}
	}
	return nil
}

// put records v for id, replacing the value of id; a list holds at most maxRPCState.
func (l *byID[K, V]) put(id K, v V) {
	if len(*l) >= maxRPCState {
		return
	}
	if p := l.find(id); p != nil {
		*p = v
		return
	}
	*l = append(*l, idEntry[K, V]{id, v})
}

// take returns and forgets the value of id.
func (l *byID[K, V]) take(id K) (v V, ok bool) {
	s := *l
	for i := range s {
		if s[i].id == id {
			v = s[i].v
			s[i] = s[len(s)-1]
			s[len(s)-1] = idEntry[K, V]{}
			*l = s[:len(s)-1]
			return v, true
		}
	}
	return v, false
}

type rpcContext struct {
	iface    dcerpc.UUID
	transfer dcerpc.UUID
}

type rpcBindCtx struct {
	id       uint16
	iface    dcerpc.UUID
	transfer dcerpc.UUID
	entry    int // index into details.Binds, -1 if not listed
}

type rpcCall struct {
	iface   dcerpc.UUID
	opnum   uint16
	frame   FrameRef
	eptWant dcerpc.UUID // ept_map: the interface asked for
	act     *dcom.ActivationRequest
}

const maxRPCState = 256

func newRPCConn() *rpcConn {
	r := &rpcConn{}
	r.ctx, r.binds, r.calls = r.ctxRoom[:0], r.bindRoom[:0], r.callRoom[:0]
	return r
}

// context returns the accepted presentation context id.
func (r *rpcConn) context(id uint16) (rpcContext, bool) {
	if cx := r.ctx.find(id); cx != nil {
		return *cx, true
	}
	return rpcContext{}, false
}

func rpcDetails(c *appCtx) *DCERPCDetails {
	d := c.f.Details.DCERPC
	if d == nil {
		d = &DCERPCDetails{}
		c.f.Details.DCERPC = d
	}
	return d
}

func ifaceName(u dcerpc.UUID) string {
	if n := dcerpc.InterfaceName(u); n != "" {
		return n
	}
	return u.String()
}

func (r *rpcConn) pdu(c *appCtx, dir int, b []byte) {
	p := &c.a.scratch.pdu // read here, never kept
	if err := dcerpc.ParseInto(p, b); err != nil {
		c.malformed("dcerpc: " + err.Error())
		return
	}
	d := rpcDetails(c)
	if p.HasAuth && d.Auth == nil && p.Auth.Type != 0 {
		d.Auth = &RPCAuth{Type: p.Auth.TypeName(), Level: p.Auth.LevelName()}
	}
	if p.HasAuth && (p.PType == dcerpc.PTypeBind || p.PType == dcerpc.PTypeAlterContext) && d.Auth != nil && d.Auth.Target == "" {
		if sname := kerberosTarget(p.Auth.Value); sname != "" {
			d.Auth.Target = sname
			c.a.addName(c.f.Server.Addr(), hostOfSName(sname))
		}
	}
	if p.Encrypted {
		d.Encrypted = true
	}
	switch p.PType {
	case dcerpc.PTypeBind, dcerpc.PTypeAlterContext:
		r.bind(c, d, p)
	case dcerpc.PTypeBindAck, dcerpc.PTypeAlterContextResp:
		r.bindAck(c, d, p)
	case dcerpc.PTypeBindNak:
		bcs, _ := r.binds.take(p.CallID)
		for _, bc := range bcs {
			if bc.entry >= 0 {
				d.Binds[bc.entry].Result = "rejected: " + dcerpc.BindNakReasonName(p.RejectReason)
			}
		}
	case dcerpc.PTypeRequest:
		r.request(c, d, p)
	case dcerpc.PTypeResponse:
		r.response(c, d, p)
	case dcerpc.PTypeFault:
		if len(d.Faults) < maxDetailSet {
			d.Faults = append(d.Faults, RPCFault{Status: dcerpc.StatusHex(p.Status), Name: dcerpc.StatusName(p.Status)})
		}
		r.calls.take(p.CallID)
	}
}

func (r *rpcConn) bind(c *appCtx, d *DCERPCDetails, p *dcerpc.PDU) {
	if len(r.binds) >= maxRPCState {
		return
	}
	var bcs []rpcBindCtx
	for _, pc := range p.Contexts {
		bc := rpcBindCtx{id: pc.ID, iface: pc.Abstract.UUID, entry: -1}
		if len(pc.Transfer) > 0 {
			bc.transfer = pc.Transfer[0].UUID
		}
		// An interface listed by an earlier context of this bind shares its entry.
		if i := slices.IndexFunc(bcs, func(o rpcBindCtx) bool { return o.iface == bc.iface && o.entry >= 0 }); i >= 0 {
			bc.entry = bcs[i].entry
		} else if len(d.Binds) < maxDetailItems {
			d.Binds = append(d.Binds, RPCBind{InterfaceUUID: bc.iface.String(), Interface: dcerpc.InterfaceName(bc.iface),
				Version: strconv.Itoa(int(pc.Abstract.VersionMajor)) + "." + strconv.Itoa(int(pc.Abstract.VersionMinor)),
				Frame:   c.frame.Frame})
			bc.entry = len(d.Binds) - 1
		}
		bcs = append(bcs, bc)
	}
	r.binds.put(p.CallID, bcs) // a bind again with the same call id replaces the first
	f := c.f
	if len(p.Contexts) > 0 {
		iface := p.Contexts[0].Abstract.UUID
		c.a.global(func(g *Analyzer) { g.rpcBound(f, iface) })
	}
}

func (r *rpcConn) bindAck(c *appCtx, d *DCERPCDetails, p *dcerpc.PDU) {
	if p.SecAddr != "" && d.SecondaryAddress == "" {
		d.SecondaryAddress = p.SecAddr
	}
	bcs, _ := r.binds.take(p.CallID)
	for i, res := range p.Results {
		if i >= len(bcs) {
			break
		}
		bc := bcs[i]
		if res.Accepted() {
			r.ctx.put(bc.id, rpcContext{iface: bc.iface, transfer: res.Transfer.UUID})
			if bc.entry >= 0 {
				d.Binds[bc.entry].Result = "accepted"
			}
		} else if bc.entry >= 0 && d.Binds[bc.entry].Result == "" && !dcerpc.IsBindTimeFeature(bc.transfer) {
			d.Binds[bc.entry].Result = res.ResultName() + ": " + res.ReasonName()
		}
	}
}

func (r *rpcConn) request(c *appCtx, d *DCERPCDetails, p *dcerpc.PDU) {
	cx, ok := r.context(p.ContextID)
	if p.FirstFrag() {
		if len(r.calls) >= maxRPCState {
			return
		}
		r.calls.put(p.CallID, rpcCall{iface: cx.iface, opnum: p.Opnum, frame: c.frame})
		name := ""
		if ok {
			name = ifaceName(cx.iface)
		}
		addCall(d, name, p.Opnum, dcerpc.OpName(cx.iface, p.Opnum))
	}
	if !ok || p.Encrypted {
		return
	}
	stub, done, err := r.asm.Add(p)
	if err != nil || !done {
		return
	}
	call := r.calls.find(p.CallID)
	if call == nil {
		return
	}
	enc := dcerpc.EncodingFor(p, cx.transfer)
	switch {
	case cx.iface == dcerpc.IfEPM && p.Opnum == 3:
		if req, err := dcerpc.ParseEptMapRequest(stub, enc); err == nil && req.HasTower {
			call.eptWant = req.Tower.Interface
		}
	case cx.iface == dcom.IIDSystemActivator || cx.iface == dcom.IIDObjectExporter:
		if enc.LittleEndian && !enc.NDR64 {
			if req, err := dcom.ParseRequest(cx.iface, p.Opnum, stub); err == nil {
				call.act = req
			}
		}
	}
}

func addCall(d *DCERPCDetails, iface string, opnum uint16, op string) {
	for i := range d.Calls {
		if d.Calls[i].Interface == iface && d.Calls[i].Opnum == int(opnum) {
			d.Calls[i].Count++
			return
		}
	}
	if len(d.Calls) < maxDetailSet {
		d.Calls = append(d.Calls, RPCCall{Interface: iface, Opnum: int(opnum), Operation: op, Count: 1})
	}
}

func (r *rpcConn) response(c *appCtx, d *DCERPCDetails, p *dcerpc.PDU) {
	if r.calls.find(p.CallID) == nil || p.Encrypted {
		return
	}
	stub, done, err := r.asm.Add(p)
	if err != nil || !done {
		return
	}
	call, _ := r.calls.take(p.CallID)
	cx, _ := r.context(p.ContextID)
	enc := dcerpc.EncodingFor(p, cx.transfer)
	switch {
	case call.iface == dcerpc.IfEPM && call.opnum == 3:
		resp, err := dcerpc.ParseEptMapResponse(stub, enc)
		if err != nil {
			c.malformed("ept_map response: " + err.Error())
			return
		}
		n := 0
		for _, t := range resp.Towers {
			if c.a.towerAssignment(c, t, "ept_map", call.eptWant) {
				n++
			}
		}
		if n == 0 && resp.Status != 0 && !call.eptWant.IsZero() {
			nr := NotRegistered{Client: c.f.Client.Addr(),
				Server: c.f.Server.Addr(), Interface: ifaceName(call.eptWant), UUID: call.eptWant.String(),
				Status: resp.StatusName(), Frame: c.frame}
			c.a.global(func(g *Analyzer) { g.rpc.notRegistered = append(g.rpc.notRegistered, nr) })
		}
	case call.iface == dcerpc.IfEPM && call.opnum == 2:
		resp, err := dcerpc.ParseEptLookupResponse(stub, enc)
		if err != nil {
			c.malformed("ept_lookup response: " + err.Error())
			return
		}
		for _, e := range resp.Entries {
			if e.HasTower {
				c.a.towerAssignment(c, e.Tower, "ept_lookup", dcerpc.UUID{})
			}
		}
	case call.iface == dcom.IIDSystemActivator || call.iface == dcom.IIDObjectExporter:
		if !enc.LittleEndian || enc.NDR64 {
			return
		}
		act, err := dcom.ParseResponse(call.iface, call.opnum, stub)
		if err != nil {
			if err != dcom.ErrNotHandled {
				c.malformed("dcom " + dcerpc.OpName(call.iface, call.opnum) + " response: " + err.Error())
			}
			return
		}
		cc := *c // the context is reused: the action keeps a copy
		c.a.global(func(g *Analyzer) { cc.a = g; g.dcomAssignments(&cc, &call, act) })
	}
}

// towerAssignment records a TCP endpoint from an endpoint-mapper tower.
func (a *Analyzer) towerAssignment(c *appCtx, t dcerpc.Tower, op string, want dcerpc.UUID) bool {
	if t.Protocol != "ncacn_ip_tcp" || t.Port == 0 {
		return false
	}
	server := t.Addr
	if !server.IsValid() || server.IsUnspecified() {
		server = c.f.Server.Addr() // 0.0.0.0: the server that was asked
	}
	as := &Assignment{Server: server, Port: t.Port, InterfaceUUID: t.Interface.String(),
		Interface: dcerpc.InterfaceName(t.Interface), Via: "epm", Op: op, Client: c.f.Client.Addr(),
		Frame: c.frame, Time: c.ts, seq: c.seq}
	if !want.IsZero() {
		as.Requested = ifaceName(want)
	}
	a.global(func(g *Analyzer) { g.rpc.addAssignment(as) })
	return true
}

// dcomAssignments records the TCP string bindings of an activation or OXID resolution.
func (a *Analyzer) dcomAssignments(c *appCtx, call *rpcCall, act *dcom.Activation) {
	responder := c.f.Server.Addr()
	var iface dcerpc.UUID
	var requested string
	if req := call.act; req != nil {
		if !req.CLSID.IsZero() {
			requested = dcerpc.ClassName(req.CLSID)
			if requested == "" {
				requested = req.CLSID.String()
			}
		}
		for _, iid := range req.IIDs {
			iface = iid
			if dcerpc.InterfaceName(iid) != "" {
				break
			}
		}
		if !iface.IsZero() && act.OXID != 0 {
			a.rpc.rememberOXID(act.OXID, iface, requested)
		}
		if iface.IsZero() && req.OXID != 0 {
			iface, requested = a.rpc.oxidInterface(req.OXID)
		}
	}
	// Numeric bindings prove which names the responder goes by.
	numeric := map[int]bool{}
	for _, b := range act.Bindings {
		if addr, ok := b.Addr(); ok && addr == responder {
			numeric[b.Port] = true
		}
	}
	for _, b := range act.Bindings {
		if b.TowerID != dcom.TowerNCACNIPTCP {
			continue
		}
		addr, numericHost := b.Addr()
		host := ""
		if !numericHost {
			host = b.Host
			if numeric[b.Port] {
				a.addName(responder, host)
			}
			if known, ok := a.lookupName(host); ok {
				addr = known
			} else {
				addr = responder
			}
		}
		if b.Port == 0 {
			continue
		}
		as := &Assignment{Server: addr.Unmap(), Port: uint16(b.Port), Host: host, Via: "dcom", Op: act.Method,
			Client: c.f.Client.Addr(), Requested: requested, Frame: c.frame, Time: c.ts, seq: c.seq}
		if !iface.IsZero() {
			as.InterfaceUUID = iface.String()
			as.Interface = dcerpc.InterfaceName(iface)
		}
		a.rpc.addAssignment(as)
	}
}

// rpcBound notes the interface bound on a flow: it names flows to dynamic ports and
// confirms (or contradicts) the interface an assignment promised.
func (a *Analyzer) rpcBound(f *Flow, iface dcerpc.UUID) {
	if f.rpcBoundSeen {
		return
	}
	f.rpcBoundSeen = true
	name := ifaceName(iface)
	port := f.Server.Port()
	if f.RPCInterface == "" && port != 135 && port != 445 && port != 139 {
		f.RPCInterface = name
	}
	if as := f.RPCAssignment; as != nil && as.Via == "epm" && as.InterfaceUUID != "" && as.InterfaceUUID != iface.String() {
		// The same endpoint often serves several interfaces (lsass): another assignment of
		// this endpoint may name the bound one.
		for _, o := range a.rpc.byEndpoint[endpointKey{f.Server.Addr(), port}] {
			if o.InterfaceUUID == iface.String() {
				f.RPCAssignment, f.RPCInterface = o, o.Interface
				return
			}
		}
		f.RPCBindMismatch = "assigned for " + as.Interface + " but bound " + name
	}
}

// kerberosTarget returns the service name of the Kerberos AP-REQ in an auth token (the
// ticket the client presents names the server it talks to), or "".
func kerberosTarget(token []byte) string {
	ap, err := gssapi.KerberosAPReq(token)
	if err != nil {
		return ""
	}
	m, err := kerberos.Parse(ap)
	if err != nil || m.Type != kerberos.TypeAPReq {
		return ""
	}
	return m.SName
}

// hostOfSName is the host of a service principal such as RPCSS/ca01.corp.example or
// ldap/dc01.corp.example:389, or "" when it names no host (krbtgt/REALM).
func hostOfSName(sname string) string {
	parts := strings.Split(sname, "/")
	if len(parts) < 2 || strings.EqualFold(parts[0], "krbtgt") {
		return ""
	}
	host := parts[1]
	if i := strings.LastIndexByte(host, ':'); i > 0 {
		host = host[:i]
	}
	return host
}
