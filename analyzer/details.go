package analyzer

// Details holds what the decoders found on a flow, in the shape of the JSON report's
// "details" object (../shared/docs/json-report.md). A key is present only where that
// decoder spoke.
type Details struct {
	Kerberos  *KerberosDetails `json:"kerberos,omitempty"`
	Kpasswd   *KpasswdDetails  `json:"kpasswd,omitempty"`
	LDAP      *LDAPDetails     `json:"ldap,omitempty"`
	TLS       *TLSDetails      `json:"tls,omitempty"`
	HTTP      *HTTPDetails     `json:"http,omitempty"`
	DCERPC    *DCERPCDetails   `json:"dcerpc,omitempty"`
	Malformed []string         `json:"malformed,omitempty"`
	// Notes say where decoding stopped and why (caps, gaps), without calling the bytes bad.
	Notes []string `json:"notes,omitempty"`
}

// Empty reports whether no decoder said anything.
func (d *Details) Empty() bool {
	return d.Kerberos == nil && d.Kpasswd == nil && d.LDAP == nil && d.TLS == nil &&
		d.HTTP == nil && d.DCERPC == nil && len(d.Malformed) == 0 && len(d.Notes) == 0
}

// KerberosDetails: message names in the order seen, errors, realms and service names.
type KerberosDetails struct {
	Messages []string        `json:"messages"`
	Errors   []KerberosError `json:"errors,omitempty"`
	Realms   []string        `json:"realms,omitempty"`
	SNames   []string        `json:"snames,omitempty"`
	CNames   []string        `json:"cnames,omitempty"`
	ETypes   []int32         `json:"etypes,omitempty"`
	// Notes are findings worth a sentence: "KRB_ERR_RESPONSE_TOO_BIG: the client must retry over TCP 88".
	Notes []string `json:"notes,omitempty"`
}

// KerberosError is one KRB-ERROR.
type KerberosError struct {
	Code  int32  `json:"code"`
	Name  string `json:"name"`
	EText string `json:"e_text,omitempty"`
}

// KpasswdDetails: RFC 3244 exchanges.
type KpasswdDetails struct {
	Messages    []string        `json:"messages"`
	Versions    []string        `json:"versions,omitempty"`
	ResultCodes []int           `json:"result_codes,omitempty"`
	ResultNames []string        `json:"result_names,omitempty"`
	Errors      []KerberosError `json:"errors,omitempty"`
}

// LDAPDetails: operations in order, results, binds, search bases.
type LDAPDetails struct {
	Operations     []string     `json:"operations"`
	Results        []LDAPResult `json:"results,omitempty"`
	BindMechanisms []string     `json:"bind_mechanisms,omitempty"`
	SASLProtected  bool         `json:"sasl_protected"`
	StartTLS       bool         `json:"starttls"`
	SearchBases    []string     `json:"search_bases,omitempty"`
	Filters        []string     `json:"filters,omitempty"`
	ADCSDiscovery  []string     `json:"adcs_discovery,omitempty"`
	NetlogonPing   bool         `json:"netlogon_ping,omitempty"`
}

// LDAPResult is one LDAPResult of a response.
type LDAPResult struct {
	Operation  string `json:"operation"`
	Code       int    `json:"code"`
	Name       string `json:"name"`
	Diagnostic string `json:"diagnostic,omitempty"`
}

// TLSDetails: the handshake as seen.
type TLSDetails struct {
	SNI               string          `json:"sni,omitempty"`
	ALPN              []string        `json:"alpn,omitempty"`
	OfferedVersions   []string        `json:"offered_versions,omitempty"`
	Version           string          `json:"version,omitempty"`
	CipherSuite       string          `json:"cipher_suite,omitempty"`
	Alerts            []TLSAlert      `json:"alerts,omitempty"`
	HandshakeComplete bool            `json:"handshake_complete"`
	Certificate       *TLSCertificate `json:"certificate,omitempty"`
}

// TLSAlert is one alert record.
type TLSAlert struct {
	Level       string `json:"level"`
	Description string `json:"description"`
}

// TLSCertificate is the server's leaf certificate when it went in clear.
type TLSCertificate struct {
	Subject   string   `json:"subject"`
	Issuer    string   `json:"issuer,omitempty"`
	SANs      []string `json:"sans,omitempty"`
	NotBefore string   `json:"not_before,omitempty"`
	NotAfter  string   `json:"not_after,omitempty"`
	Chain     int      `json:"chain,omitempty"`
	Error     string   `json:"error,omitempty"`
}

// HTTPDetails: requests with their status.
type HTTPDetails struct {
	Requests []HTTPRequest `json:"requests"`
}

// HTTPRequest is one request and, when seen, the status of its response.
type HTTPRequest struct {
	Method string `json:"method"`
	Host   string `json:"host,omitempty"`
	Path   string `json:"path"`
	Status int    `json:"status,omitempty"`
	Kind   string `json:"kind,omitempty"` // crl, aia, ces, cep, certsrv, ...
}

// DCERPCDetails: binds, calls, faults and authentication on a DCE/RPC flow.
type DCERPCDetails struct {
	Binds     []RPCBind  `json:"binds,omitempty"`
	Calls     []RPCCall  `json:"calls,omitempty"`
	Faults    []RPCFault `json:"faults,omitempty"`
	Auth      *RPCAuth   `json:"auth,omitempty"`
	Encrypted bool       `json:"encrypted,omitempty"`
	// Pipes are the named pipes opened over SMB on this flow.
	Pipes []string `json:"pipes,omitempty"`
	// SecondaryAddress is the bind_ack's secondary address (the port or pipe).
	SecondaryAddress string `json:"secondary_address,omitempty"`
}

// RPCBind is one presentation context of a bind or alter_context.
type RPCBind struct {
	InterfaceUUID string `json:"interface_uuid"`
	Interface     string `json:"interface,omitempty"`
	Version       string `json:"version,omitempty"`
	Result        string `json:"result,omitempty"`
	Frame         int    `json:"frame,omitempty"`
}

// RPCCall is one request (and its outcome when the response was seen).
type RPCCall struct {
	Interface string `json:"interface,omitempty"`
	Opnum     int    `json:"opnum"`
	Operation string `json:"operation,omitempty"`
	Count     int    `json:"count"`
}

// RPCFault is one fault PDU.
type RPCFault struct {
	Status string `json:"status"`
	Name   string `json:"name,omitempty"`
}

// RPCAuth is the auth verifier's type and level.
type RPCAuth struct {
	Type  string `json:"type"`
	Level string `json:"level"`
	// Target is the Kerberos service name the client's ticket was for (RPCSS/ca01...).
	Target string `json:"target,omitempty"`
}
