import Foundation
import KubeAPI

/// A failure reported by a CNI plugin, per the CNI spec's error result
/// (`{"cniVersion", "code", "msg", "details"}` on stdout, non-zero exit).
public struct CNIError: Error, CustomStringConvertible, Sendable {
    public var plugin: String
    public var command: String
    public var code: Int?
    public var message: String

    public var description: String {
        "CNI \(command) \(plugin) failed" + (code.map { " (code \($0))" } ?? "") + ": \(message)"
    }
}

/// Invokes one CNI plugin binary the way libcni's `invoke.ExecPluginWithResult` does:
/// the network configuration on stdin, the runtime arguments in `CNI_*` environment variables,
/// the result (or an error object) on stdout.
struct CNIInvocation: Sendable {
    var cniPath: String
    var containerID: String
    var netnsPath: String
    var ifName: String

    /// `CNI_COMMAND=ADD|DEL`. Returns the plugin's stdout (the result JSON for ADD).
    func exec(_ command: String, plugin: String, config: JSONValue) async throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let stdin = [UInt8](try encoder.encode(config))
        // Like libcni, the plugin sees only the CNI variables plus a PATH (the bridge plugin
        // needs none, but host tools a plugin might call do).
        let env: [String: String] = [
            "CNI_COMMAND": command,
            "CNI_CONTAINERID": containerID,
            "CNI_NETNS": netnsPath,
            "CNI_IFNAME": ifName,
            "CNI_PATH": cniPath,
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ]
        let binary = cniPath + "/" + plugin
        // libcni's `FindInPath` error, which containerd reports in the pod's FailedCreatePodSandBox
        // event; the package that ships the plugins is named so the fix is one command away.
        guard access(binary, X_OK) == 0 else {
            throw CNIError(plugin: plugin, command: command, code: nil,
                           message: "failed to find plugin \"\(plugin)\" in path [\(cniPath)] (Debian package containernetworking-plugins)")
        }
        let r = try await HostCommand.run(binary, [], environment: env, stdin: stdin)
        guard r.status == 0 else {
            var code: Int?
            var message = r.stderrString.trimmingCharacters(in: .whitespacesAndNewlines)
            if let err = try? JSONDecoder().decode(JSONValue.self, from: Data(r.stdout)) {
                if case .int(let c)? = err["code"] { code = Int(c) }
                if let msg = err["msg"]?.stringValue {
                    message = msg + (err["details"]?.stringValue.map { "; \($0)" } ?? "")
                }
            }
            if message.isEmpty { message = "exit status \(r.status)" }
            throw CNIError(plugin: plugin, command: command, code: code, message: message)
        }
        return r.stdout
    }
}

/// The two network configurations Tandem uses, built as containerd's CRI plugin would load them
/// from a conflist: `loopback` first, then a `bridge` with `host-local` IPAM.
enum CNIConfigs {
    static let version = "1.0.0"

    static func loopback() -> JSONValue {
        .object(["cniVersion": .string(version), "name": .string("tandem-loopback"), "type": .string("loopback")])
    }

    /// `isGateway` puts the gateway address (first of the subnet) on the host bridge so the host
    /// reaches every pod; `ipMasq` is off and no default route is installed in the pod, so pods
    /// talk only to the host and to each other (the rules of this workplace). `hairpinMode` lets a
    /// pod reach itself through its own IP, as the kubelet's kubenet did. `dataDir` keeps the
    /// host-local leases under Tandem's root instead of /var/lib/cni.
    static func bridge(_ config: PodNetworkConfig) -> JSONValue {
        var ipam: [String: JSONValue] = [
            "type": .string("host-local"),
            "ranges": .array([.array([.object(["subnet": .string(config.subnet)])])]),
            "dataDir": .string(config.ipamDataDir),
        ]
        // host-local puts the route in its result; the bridge plugin installs it via the gateway.
        if let services = config.serviceCIDR { ipam["routes"] = .array([.object(["dst": .string(services)])]) }
        return .object([
            "cniVersion": .string(version),
            "name": .string(config.networkName),
            "type": .string("bridge"),
            "bridge": .string(config.bridge),
            "isGateway": .bool(true),
            "ipMasq": .bool(false),
            "hairpinMode": .bool(true),
            "ipam": .object(ipam),
        ])
    }

    /// libcni adds the cached ADD result as `prevResult` to the DEL configuration
    /// (`buildOneConfig` with the result from `getCachedResult`).
    static func withPrevResult(_ config: JSONValue, _ prev: JSONValue?) -> JSONValue {
        guard let prev, case .object(var o) = config else { return config }
        o["prevResult"] = prev
        return .object(o)
    }

    /// The first IP of an ADD result (`ips[0].address`, CIDR notation), without its prefix length.
    static func firstIP(_ result: JSONValue) -> String? {
        guard case .array(let ips)? = result["ips"], let address = ips.first?["address"]?.stringValue else { return nil }
        return String(address.split(separator: "/").first ?? Substring(address))
    }
}
