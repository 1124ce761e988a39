package dcerpc

// Interface is a well-known RPC interface: its abstract syntax UUID and a short name
// (the name tshark and the MS-* specifications use, e.g. "ICertPassage", "EPM").
type Interface struct {
	UUID UUID
	Name string
	Spec string // defining document, e.g. "MS-ICPR"
}

// Well-known interface UUIDs used by the analyzer and decoders/dcom.
var (
	IfEPM              = MustUUID("e1af8308-5d1f-11c9-91a4-08002b14a0fa")
	IfISystemActivator = MustUUID("000001a0-0000-0000-c000-000000000046")
	IfIObjectExporter  = MustUUID("99fcfec4-5260-101b-bbcb-00aa0021347a")
	IfIRemUnknown      = MustUUID("00000131-0000-0000-c000-000000000046")
	IfIRemUnknown2     = MustUUID("00000143-0000-0000-c000-000000000046")
	IfIUnknown         = MustUUID("00000000-0000-0000-c000-000000000046")
	IfIDispatch        = MustUUID("00020400-0000-0000-c000-000000000046")
	IfICertPassage     = MustUUID("91ae6020-9e3c-11cf-8d7c-00aa00c091be")
	IfICertRequestD    = MustUUID("d99e6e70-fc88-11d0-b498-00a0c90312f3")
	IfICertRequestD2   = MustUUID("5422fd3a-d4b8-4cef-a12e-e87d4ca22e90")
	IfICertAdminD      = MustUUID("d99e6e71-fc88-11d0-b498-00a0c90312f3")
	IfICertAdminD2     = MustUUID("7fe0d935-dda6-443f-85d0-1cfb58fe41dd")

	// ClsidCCertRequestD is the class CCertRequestD activates for ICertRequestD(2).
	ClsidCCertRequestD = MustUUID("d99e6e74-fc88-11d0-b498-00a0c90312f3")
)

// interfaces is the table behind InterfaceName. Every UUID tshark 4.0 registers (37 of
// them) is checked against tshark by TestHandbuiltICertPassage; the others (ICert*,
// DSAOP, BackupKey, EFSRPC2, SASec, IEventService, WindowsShutdown, W32TIME, TRKWKS,
// DHCPSRV*, WMI) come from the named documents, several also seen in real EPM towers.
var interfaces = []Interface{
	{IfEPM, "EPM", "C706/MS-RPCE"},
	{MustUUID("afa8bd80-7d8a-11c9-bef4-08002b102989"), "MGMT", "C706/MS-RPCE"},
	{IfISystemActivator, "ISystemActivator", "MS-DCOM"},
	{MustUUID("4d9f4ab8-7d1c-11cf-861e-0020af6e7c57"), "IActivation", "MS-DCOM"},
	{IfIObjectExporter, "IObjectExporter", "MS-DCOM"},
	{IfIRemUnknown, "IRemUnknown", "MS-DCOM"},
	{IfIRemUnknown2, "IRemUnknown2", "MS-DCOM"},
	{IfIUnknown, "IUnknown", "MS-DCOM"},
	{IfIDispatch, "IDispatch", "MS-OAUT"},
	{MustUUID("00020401-0000-0000-c000-000000000046"), "ITypeInfo", "MS-OAUT"},
	{IfICertPassage, "ICertPassage", "MS-ICPR"},
	{IfICertRequestD, "ICertRequestD", "MS-WCCE"},
	{IfICertRequestD2, "ICertRequestD2", "MS-WCCE"},
	{IfICertAdminD, "ICertAdminD", "MS-CSRA"},
	{IfICertAdminD2, "ICertAdminD2", "MS-CSRA"},
	{MustUUID("12345778-1234-abcd-ef00-0123456789ab"), "LSARPC", "MS-LSAD"},
	{MustUUID("3919286a-b10c-11d0-9ba8-00c04fd92ef5"), "DSSETUP", "MS-DSSP"},
	{MustUUID("12345678-1234-abcd-ef00-01234567cffb"), "NETLOGON", "MS-NRPC"},
	{MustUUID("12345778-1234-abcd-ef00-0123456789ac"), "SAMR", "MS-SAMR"},
	{MustUUID("e3514235-4b06-11d1-ab04-00c04fc2dcd2"), "DRSUAPI", "MS-DRSR"},
	{MustUUID("7c44d7d4-31d5-424c-bd5e-2b3e1f323d22"), "DSAOP", "MS-DRSR"},
	{MustUUID("3dde7c30-165d-11d1-ab8f-00805f14db40"), "BackupKey", "MS-BKRP"},
	{MustUUID("c681d488-d850-11d0-8c52-00c04fd90f7e"), "EFSRPC", "MS-EFSR"},
	{MustUUID("df1941c5-fe89-4e79-bf10-463657acf44d"), "EFSRPC2", "MS-EFSR"},
	{MustUUID("367abb81-9844-35f1-ad32-98f038001003"), "SVCCTL", "MS-SCMR"},
	{MustUUID("338cd001-2244-31f1-aaaa-900038001003"), "WINREG", "MS-RRP"},
	{MustUUID("12345678-1234-abcd-ef00-0123456789ab"), "SPOOLSS", "MS-RPRN"},
	{MustUUID("76f03f96-cdfd-44fc-a22c-64950a001209"), "IRemoteWinspool", "MS-PAR"},
	{MustUUID("86d35949-83c9-4044-b424-db363231fd0c"), "ITaskSchedulerService", "MS-TSCH"},
	{MustUUID("1ff70682-0a51-30e8-076d-740be8cee98b"), "ATSVC", "MS-TSCH"},
	{MustUUID("378e52b0-c0a9-11cf-822d-00aa0051e40f"), "SASec", "MS-TSCH"},
	{MustUUID("4b324fc8-1670-01d3-1278-5a47bf6ee188"), "SRVSVC", "MS-SRVS"},
	{MustUUID("6bffd098-a112-3610-9833-46c3f87e345a"), "WKSSVC", "MS-WKST"},
	{MustUUID("6bffd098-a112-3610-9833-012892020162"), "BROWSER", "MS-BRWSA"},
	{MustUUID("4fc742e0-4a10-11cf-8273-00aa004ae673"), "NETDFS", "MS-DFSNM"},
	{MustUUID("50abc2a4-574d-40b3-9d66-ee4fd5fba076"), "DNSSERVER", "MS-DNSP"},
	{MustUUID("f5cc59b4-4264-101a-8c59-08002b2f8426"), "FRSRPC", "MS-FRS1"},
	{MustUUID("897e2e5f-93f3-4376-9c9c-fd2277495c27"), "FRSTRANS", "MS-FRS2"},
	{MustUUID("82273fdc-e32a-18c3-3f78-827929dc23ea"), "EVENTLOG", "MS-EVEN"},
	{MustUUID("f6beaff7-1e19-4fbb-9f8f-b89e2018337c"), "IEventService", "MS-EVEN6"},
	{MustUUID("894de0c0-0d55-11d3-a322-00c04fa321a1"), "INITSHUTDOWN", "MS-RSP"},
	{MustUUID("d95afe70-a6d5-4259-822e-2c84da1ddb0d"), "WindowsShutdown", "MS-RSP"},
	{MustUUID("8d9f4e40-a03d-11ce-8f69-08003e30051b"), "PNP", "MS-PNPR"},
	{MustUUID("a8e0653c-2744-4389-a61d-7373df8b2292"), "FSRVP", "MS-FSRVP"},
	{MustUUID("8fb6d884-2388-11d0-8c35-00c04fda2795"), "W32TIME", "MS-W32T"},
	{MustUUID("300f3532-38cc-11d0-a3f0-0020af6b0add"), "TRKWKS", "MS-DLTW"},
	{MustUUID("6bffd098-a112-3610-9833-46c3f874532d"), "DHCPSRV", "MS-DHCPM"},
	{MustUUID("5b821720-f63b-11d0-aad2-00c04fc324db"), "DHCPSRV2", "MS-DHCPM"},
	{MustUUID("f309ad18-d86a-11d0-a075-00c04fb68820"), "IWbemLevel1Login", "MS-WMI"},
	{MustUUID("9556dc99-828c-11cf-a37e-00aa003240c7"), "IWbemServices", "MS-WMI"},
	{MustUUID("d4781cd6-e5d3-44df-ad94-930efe48a887"), "IWbemLoginClientID", "MS-WMI"},
	{MustUUID("027947e1-d731-11ce-a357-000000000001"), "IEnumWbemClassObject", "MS-WMI"},
	{MustUUID("44aca675-e8fc-11d0-a07c-00c04fb68820"), "IWbemCallResult", "MS-WMI"},
	{MustUUID("1c1c45ee-4395-11d2-b60b-00104b703efd"), "IWbemFetchSmartEnum", "MS-WMI"},
	{MustUUID("f5cc5a18-4264-101a-8c59-08002b2f8426"), "NSPI", "MS-NSPI"},
	{MustUUID("a4f1db00-ca47-1067-b31f-00dd010662da"), "EMSMDB", "MS-OXCRPC"},
	{MustUUID("1544f5e0-613c-11d1-93df-00c04fd7bd09"), "RFR", "MS-OXABREF"},
}

var (
	ifByUUID = func() map[UUID]*Interface {
		m := make(map[UUID]*Interface, len(interfaces))
		for i := range interfaces {
			m[interfaces[i].UUID] = &interfaces[i]
		}
		return m
	}()
	ifByName = func() map[string]*Interface {
		m := make(map[string]*Interface, len(interfaces))
		for i := range interfaces {
			m[lower(interfaces[i].Name)] = &interfaces[i]
		}
		return m
	}()
)

// Interfaces returns a copy of the interface table.
func Interfaces() []Interface { return append([]Interface(nil), interfaces...) }

// InterfaceName returns the short name of a well-known interface, or "" if unknown.
func InterfaceName(u UUID) string {
	if i := ifByUUID[u]; i != nil {
		return i.Name
	}
	return ""
}

// InterfaceByName looks an interface up by name, case-insensitively ("icertpassage").
func InterfaceByName(name string) (UUID, bool) {
	if i := ifByName[lower(name)]; i != nil {
		return i.UUID, true
	}
	return UUID{}, false
}

func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// classes: well-known COM class ids seen in DCOM activation requests.
var classes = map[UUID]string{
	ClsidCCertRequestD: "CCertRequestD",
	MustUUID("d99e6e73-fc88-11d0-b498-00a0c90312f3"): "CCertAdminD",
	MustUUID("9ba05972-f6a8-11cf-a442-00a0c90a8f39"): "ShellWindows",
	MustUUID("c08afd90-f2a1-11d1-8455-00a0c91f3880"): "ShellBrowserWindow",
	MustUUID("49b2791a-b1ae-4c90-9b8e-e860ba07f889"): "MMC20.Application",
	MustUUID("8bc3f05e-d86b-11d0-a075-00c04fb68820"): "WbemLevel1Login",
	MustUUID("0000031a-0000-0000-c000-000000000046"): "ActivationContextInfo",
	MustUUID("000001ab-0000-0000-c000-000000000046"): "InstantiationInfo",
	MustUUID("000001a5-0000-0000-c000-000000000046"): "ActivationPropertiesIn",
	MustUUID("00000339-0000-0000-c000-000000000046"): "ActivationPropertiesOut",
}

// ClassName returns the name of a well-known COM class id (CLSID), or "".
func ClassName(u UUID) string { return classes[u] }

type opKey struct {
	iface UUID
	opnum uint16
}

var ops = func() map[opKey]string {
	m := map[opKey]string{}
	add := func(u UUID, names ...string) {
		for i, n := range names {
			if n != "" {
				m[opKey{u, uint16(i)}] = n
			}
		}
	}
	add(IfEPM, "ept_insert", "ept_delete", "ept_lookup", "ept_map", "ept_lookup_handle_free",
		"ept_inq_object", "ept_mgmt_delete")
	// ORPC interfaces: opnums 0-2 are IUnknown's, never sent on the wire.
	orpc := []string{"QueryInterface", "AddRef", "Release"}
	add(IfISystemActivator, append(orpc, "RemoteGetClassObject", "RemoteCreateInstance")...)
	add(IfIObjectExporter, "ResolveOxid", "SimplePing", "ComplexPing", "ServerAlive", "ResolveOxid2",
		"ServerAlive2")
	add(IfIRemUnknown, append(orpc, "RemQueryInterface", "RemAddRef", "RemRelease")...)
	add(IfIRemUnknown2, append(orpc, "RemQueryInterface", "RemAddRef", "RemRelease", "RemQueryInterface2")...)
	add(IfIDispatch, append(orpc, "GetTypeInfoCount", "GetTypeInfo", "GetIDsOfNames", "Invoke")...)
	add(IfICertPassage, "CertServerRequest")
	add(IfICertRequestD, append(orpc, "Request", "GetCACert", "Ping")...)
	add(IfICertRequestD2, append(orpc, "Request", "GetCACert", "Ping", "Request2", "GetCAProperty",
		"GetCAPropertyInfo", "Ping2")...)
	drs, _ := InterfaceByName("DRSUAPI")
	add(drs, "DRSBind", "DRSUnbind", "DRSReplicaSync", "DRSGetNCChanges", "DRSUpdateRefs",
		"DRSReplicaAdd", "DRSReplicaDel", "DRSReplicaModify", "DRSVerifyNames", "DRSGetMemberships",
		"DRSInterDomainMove", "DRSGetNT4ChangeLog", "DRSCrackNames", "DRSWriteSPN", "DRSRemoveDsServer",
		"DRSRemoveDsDomain", "DRSDomainControllerInfo", "DRSAddEntry", "DRSExecuteKCC", "DRSGetReplInfo")
	return m
}()

// OpName names operation opnum of interface iface ("ept_map", "RemoteCreateInstance",
// "CertServerRequest"), or "" if unknown.
func OpName(iface UUID, opnum uint16) string { return ops[opKey{iface, opnum}] }

// ResultName names a bind_ack presentation result: "accepted", "user_rejection",
// "provider_rejection", "negotiate_ack", or "result_N".
func ResultName(r uint16) string {
	switch r {
	case ResultAcceptance:
		return "accepted"
	case ResultUserRejection:
		return "user_rejection"
	case ResultProviderRejection:
		return "provider_rejection"
	case ResultNegotiateAck:
		return "negotiate_ack"
	}
	return "result_" + itoa(uint64(r))
}

// ProviderReasonName names a bind_ack provider reason (C706 p_provider_reason_t).
func ProviderReasonName(r uint16) string {
	switch r {
	case 0:
		return "reason_not_specified"
	case 1:
		return "abstract_syntax_not_supported"
	case 2:
		return "proposed_transfer_syntaxes_not_supported"
	case 3:
		return "local_limit_exceeded"
	}
	return "reason_" + itoa(uint64(r))
}

var bindNakReasons = [...]string{
	"reason_not_specified", "temporary_congestion", "local_limit_exceeded", "called_paddr_unknown",
	"protocol_version_not_supported", "default_context_not_supported", "user_data_not_readable",
	"no_psap_available", "authentication_type_not_recognized", "invalid_checksum",
}

// BindNakReasonName names a bind_nak provider_reject_reason (C706, MS-RPCE 2.2.2.5).
func BindNakReasonName(r uint16) string {
	if int(r) < len(bindNakReasons) {
		return bindNakReasons[r]
	}
	return "reason_" + itoa(uint64(r))
}

// AuthTypeName names an auth_type (MS-RPCE 2.2.1.1.7): "none", "spnego", "ntlmssp",
// "kerberos", "netlogon", "schannel", ..., or "auth_N".
func AuthTypeName(t uint8) string {
	switch t {
	case 0:
		return "none"
	case 1:
		return "dce_private" // DCE Kerberos 5
	case 2:
		return "dce_public"
	case 4:
		return "dec_public"
	case 9:
		return "spnego"
	case 10:
		return "ntlmssp"
	case 14:
		return "schannel" // TLS
	case 16:
		return "kerberos"
	case 17:
		return "dpa"
	case 18:
		return "msn"
	case 21:
		return "digest"
	case 30:
		return "nego_extender"
	case 31:
		return "pku2u"
	case 68:
		return "netlogon"
	case 100:
		return "msmq"
	case 255:
		return "default"
	}
	return "auth_" + itoa(uint64(t))
}

var authLevels = [...]string{"default", "none", "connect", "call", "packet", "integrity", "privacy"}

// AuthLevelName names an auth_level: "none", "connect", "call", "packet", "integrity",
// "privacy" (0 is "default"), or "level_N".
func AuthLevelName(l uint8) string {
	if int(l) < len(authLevels) {
		return authLevels[l]
	}
	return "level_" + itoa(uint64(l))
}

var statusNames = map[uint32]string{
	// Windows error codes returned as fault status (winerror.h).
	0x00000005: "nca_s_fault_access_denied",
	0x000006b5: "rpc_s_unknown_if",
	0x000006ba: "rpc_s_server_unavailable",
	0x000006be: "rpc_s_call_failed",
	0x000006bf: "rpc_s_call_failed_dne",
	0x000006c0: "rpc_s_protocol_error",
	0x000006d1: "rpc_s_procnum_out_of_range",
	0x000006d8: "nca_s_fault_cant_perform",
	0x000006d9: "ept_s_not_registered",
	0x000006f7: "nca_s_fault_ndr",
	0x0000071a: "rpc_s_call_cancelled",
	0x00000721: "nca_s_fault_sec_pkg_error",
	// C706 appendix E.
	0x1c000001: "nca_s_fault_int_div_by_zero",
	0x1c000002: "nca_s_fault_addr_error",
	0x1c000003: "nca_s_fault_fp_div_zero",
	0x1c000004: "nca_s_fault_fp_underflow",
	0x1c000005: "nca_s_fault_fp_overflow",
	0x1c000006: "nca_s_fault_invalid_tag",
	0x1c000007: "nca_s_fault_invalid_bound",
	0x1c000008: "nca_rpc_version_mismatch",
	0x1c000009: "nca_unspec_reject",
	0x1c00000a: "nca_s_bad_actid",
	0x1c00000b: "nca_who_are_you_failed",
	0x1c00000c: "nca_manager_not_entered",
	0x1c00000d: "nca_s_fault_cancel",
	0x1c00000e: "nca_s_fault_ill_inst",
	0x1c00000f: "nca_s_fault_fp_error",
	0x1c000010: "nca_s_fault_int_overflow",
	0x1c000014: "nca_s_fault_pipe_empty",
	0x1c000015: "nca_s_fault_pipe_closed",
	0x1c000016: "nca_s_fault_pipe_order",
	0x1c000017: "nca_s_fault_pipe_discipline",
	0x1c000018: "nca_s_fault_pipe_comm_error",
	0x1c000019: "nca_s_fault_pipe_memory",
	0x1c00001a: "nca_s_fault_context_mismatch",
	0x1c00001b: "nca_s_fault_remote_no_memory",
	0x1c00001c: "nca_invalid_pres_context_id",
	0x1c00001d: "nca_unsupported_authn_level",
	0x1c00001f: "nca_invalid_checksum",
	0x1c000020: "nca_invalid_crc",
	0x1c000021: "nca_s_fault_user_defined",
	0x1c000022: "nca_s_fault_tx_open_failed",
	0x1c000023: "nca_s_fault_codeset_conv_error",
	0x1c000024: "nca_s_fault_object_not_found",
	0x1c000025: "nca_s_fault_no_client_stub",
	0x1c010002: "nca_s_op_rng_error",
	0x1c010003: "nca_s_unk_if",
	0x1c010006: "nca_s_wrong_boot_time",
	0x1c010009: "nca_s_you_crashed",
	0x1c01000b: "nca_s_proto_error",
	0x1c010013: "nca_s_out_args_too_big",
	0x1c010014: "nca_s_server_too_busy",
	0x1c010017: "nca_s_unsupported_type",
	// DCE rpc_s / ept_s status codes.
	0x16c9a0d6: "ept_s_not_registered",
	// COM HRESULTs seen in ORPC faults.
	0x80004001: "E_NOTIMPL",
	0x80004002: "E_NOINTERFACE",
	0x80004003: "E_POINTER",
	0x80004004: "E_ABORT",
	0x80004005: "E_FAIL",
	0x8000ffff: "E_UNEXPECTED",
	0x80010105: "RPC_E_SERVERFAULT",
	0x80010108: "RPC_E_DISCONNECTED",
	0x80010113: "RPC_E_INVALID_IPID",
	0x8001011f: "RPC_E_TIMEOUT",
	0x80040154: "REGDB_E_CLASSNOTREG",
	0x80070005: "E_ACCESSDENIED",
	0x8007000e: "E_OUTOFMEMORY",
	0x80070057: "E_INVALIDARG",
	0x800706d1: "RPC_S_PROCNUM_OUT_OF_RANGE",
	0x80070776: "OR_INVALID_OXID",
}

// StatusName names a fault or EPM status ("nca_s_unk_if", "ept_s_not_registered",
// "E_ACCESSDENIED"); unknown values print as hex ("0x1c01abcd"). 0 is "success".
func StatusName(s uint32) string {
	if s == 0 {
		return "success"
	}
	if n, ok := statusNames[s]; ok {
		return n
	}
	return hex32(s)
}

// StatusHex formats a status as "0x%08x", the form the JSON report uses.
func StatusHex(s uint32) string { return hex32(s) }
