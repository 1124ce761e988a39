package http

import (
	"net/url"
	"strings"
)

// AD CS classes returned by Classify.
const (
	ClassCRL         = "crl"
	ClassAIA         = "aia"
	ClassOCSP        = "ocsp"
	ClassCES         = "ces"
	ClassCEP         = "cep"
	ClassCertsrv     = "certsrv"
	ClassRPCOverHTTP = "rpc-over-http"
)

// Classify says what an HTTP request is for in AD CS terms, from its method and path
// (percent-encoding and a query are allowed; matching is case-insensitive):
//
//   - "crl": GET of a .crl file (CDP)
//   - "aia": GET of a .crt, .cer, .p7c or .p7b file (CA certificates, AIA)
//   - "ocsp": anything under /ocsp (the Online Responder; GET or POST)
//   - "ces": /<CA name>_CES_<Kerberos|UsernamePassword|Certificate>/service.svc[/...]
//   - "cep": /ADPolicyProvider_CEP_<Kerberos|UsernamePassword|Certificate>/service.svc[/...]
//   - "certsrv": /certsrv or anything under it (web enrollment)
//   - "rpc-over-http": RPC_IN_DATA or RPC_OUT_DATA to /rpc/rpcproxy.dll
//
// and "" for anything else.
func Classify(method, path string) string {
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	if u, err := url.PathUnescape(path); err == nil {
		path = u
	}
	// An absolute-form target: keep only its path.
	if i := strings.Index(path, "://"); i >= 0 {
		rest := path[i+3:]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			path = rest[j:]
		} else {
			path = "/"
		}
	}
	p := strings.ToLower(path)
	m := strings.ToUpper(method)

	if m == "RPC_IN_DATA" || m == "RPC_OUT_DATA" {
		if strings.HasPrefix(p, "/rpc/rpcproxy.dll") {
			return ClassRPCOverHTTP
		}
		return ""
	}
	if p == "/ocsp" || strings.HasPrefix(p, "/ocsp/") {
		return ClassOCSP
	}
	if p == "/certsrv" || strings.HasPrefix(p, "/certsrv/") {
		return ClassCertsrv
	}
	if c := webService(p); c != "" {
		return c
	}
	if m == "GET" || m == "HEAD" {
		switch {
		case strings.HasSuffix(p, ".crl"):
			return ClassCRL
		case strings.HasSuffix(p, ".crt"), strings.HasSuffix(p, ".cer"),
			strings.HasSuffix(p, ".p7c"), strings.HasSuffix(p, ".p7b"):
			return ClassAIA
		}
	}
	return ""
}

// webService matches the first path segment against the CES and CEP virtual directory
// names followed by /service.svc. p is lower-case.
func webService(p string) string {
	if !strings.HasPrefix(p, "/") {
		return ""
	}
	seg, rest, ok := strings.Cut(p[1:], "/")
	if !ok || !(rest == "service.svc" || strings.HasPrefix(rest, "service.svc/")) {
		return ""
	}
	var auth string
	switch {
	case strings.HasPrefix(seg, "adpolicyprovider_cep_"):
		auth = strings.TrimPrefix(seg, "adpolicyprovider_cep_")
		if isAuth(auth) {
			return ClassCEP
		}
	default:
		i := strings.LastIndex(seg, "_ces_")
		if i <= 0 {
			return ""
		}
		if isAuth(seg[i+len("_ces_"):]) {
			return ClassCES
		}
	}
	return ""
}

func isAuth(s string) bool {
	return s == "kerberos" || s == "usernamepassword" || s == "certificate"
}
