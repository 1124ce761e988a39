package analyzer

type portKey struct {
	proto uint8
	port  uint16
}

// servicePorts is the first guess of a flow's service from its server port. Decoders
// replace it when they recognise the bytes.
var servicePorts = map[portKey]string{
	{protoTCP, 88}: "kerberos", {protoUDP, 88}: "kerberos",
	{protoTCP, 464}: "kpasswd", {protoUDP, 464}: "kpasswd",
	{protoTCP, 389}: "ldap", {protoUDP, 389}: "cldap",
	{protoTCP, 3268}: "ldap-gc",
	{protoTCP, 636}:  "ldaps", {protoTCP, 3269}: "ldaps",
	{protoTCP, 135}: "epm", {protoUDP, 135}: "epm",
	{protoTCP, 593}: "rpc-over-http",
	{protoTCP, 443}: "https", {protoTCP, 80}: "http",
	{protoTCP, 445}: "smb", {protoTCP, 139}: "smb",
	{protoUDP, 137}: "netbios-ns", {protoUDP, 138}: "netbios-dgm",
	{protoTCP, 53}: "dns", {protoUDP, 53}: "dns",
	{protoUDP, 123}: "ntp", {protoUDP, 5355}: "llmnr", {protoUDP, 5353}: "mdns",
	{protoUDP, 547}: "dhcpv6", {protoUDP, 67}: "dhcp",
	{protoTCP, 9389}: "adws", {protoTCP, 5985}: "winrm", {protoTCP, 5986}: "winrm",
}

// Dynamic RPC port ranges: Windows Vista / Server 2008 and later, and the old range.
const (
	DynamicLow     = 49152
	DynamicHigh    = 65535
	OldDynamicLow  = 1025
	OldDynamicHigh = 5000
)

// InDynamicRange reports whether a TCP port is in one of the RPC dynamic ranges.
func InDynamicRange(port uint16) bool {
	return port >= DynamicLow || (port >= OldDynamicLow && port <= OldDynamicHigh)
}

// portService labels a flow from its server port.
func portService(proto uint8, port uint16) string {
	if s, ok := servicePorts[portKey{proto, port}]; ok {
		return s
	}
	if proto == protoTCP && InDynamicRange(port) {
		return "msrpc"
	}
	return "unknown"
}
