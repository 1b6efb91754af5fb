import Foundation
import KubeAPI

/// Why a container could not be configured: the kubelet reports it as `CreateContainerConfigError`.
struct ContainerConfigError: Error, CustomStringConvertible {
    var description: String
}

/// Builds a container's environment and command line as the kubelet does (`makeEnvironmentVariables`,
/// `ExpandContainerCommandAndArgs`): the Service variables (`ServiceEnvironment`), then envFrom,
/// then env in order, each value able to refer to earlier ones and to the Service variables with
/// `$(VAR)`; command and args expanded against the result.
enum ContainerEnvironment {
    /// - Parameter services: the Services the node knows (the kubelet's service lister), of any
    ///   namespace; `ServiceEnvironment` picks the ones this pod sees.
    /// Returns the process environment (the image's, `HOSTNAME`, the Service variables, envFrom
    /// and env, later ones winning, as containerd merges the kubelet's list over the image's) and
    /// the `$(VAR)` expansion the kubelet can do, which knows only its own list: envFrom, env and
    /// the Service variables, never the image's variables or `HOSTNAME` (`MappingFuncFor(tmpEnv,
    /// serviceEnv)`, and `ExpandContainerCommandAndArgs` with the same list).
    static func environment(for container: Container, pod: Pod, podIP: String?, hostIP: String, nodeName: String,
                            configMaps: [String: ConfigMap], secrets: [String: Secret], imageEnv: [String],
                            services: [Service] = []) throws -> (env: [(String, String)], expansion: [String: String]) {
        var env: [(String, String)] = []
        var index: [String: Int] = [:]
        func set(_ k: String, _ v: String) {
            if let i = index[k] { env[i].1 = v } else {
                index[k] = env.count
                env.append((k, v))
            }
        }
        for entry in imageEnv {
            guard let eq = entry.firstIndex(of: "=") else { continue }
            set(String(entry[..<eq]), String(entry[entry.index(after: eq)...]))
        }
        set("HOSTNAME", pod.spec.hostname ?? pod.name)
        // The kubelet appends them after env and envFrom but only where those did not set the
        // name, and its `$(VAR)` mapping falls back to them: set first, overridden by what follows.
        var expansion: [String: String] = [:]
        /// A variable of the kubelet's own list, which `$(VAR)` can refer to.
        func export(_ k: String, _ v: String) {
            set(k, v)
            expansion[k] = v
        }
        for (k, v) in ServiceEnvironment.variables(services: services, namespace: pod.namespace,
                                                   enableServiceLinks: pod.spec.enableServiceLinks ?? true) {
            export(k, v)
        }
        for source in container.envFrom ?? [] {
            let prefix = source.prefix ?? ""
            if let ref = source.configMapRef {
                guard let cm = configMaps[ref.name ?? ""] else {
                    if ref.optional == true { continue }
                    throw ContainerConfigError(description: "configmap \"\(ref.name ?? "")\" not found")
                }
                for (k, v) in (cm.data ?? [:]).sorted(by: { $0.key < $1.key }) { export(prefix + k, v) }
            }
            if let ref = source.secretRef {
                guard let s = secrets[ref.name ?? ""] else {
                    if ref.optional == true { continue }
                    throw ContainerConfigError(description: "secret \"\(ref.name ?? "")\" not found")
                }
                for (k, v) in secretData(s).sorted(by: { $0.key < $1.key }) { export(prefix + k, v) }
            }
        }
        for e in container.env ?? [] {
            var value = e.value.map { expand($0, expansion) } ?? ""
            if let from = e.valueFrom {
                if let f = from.fieldRef {
                    value = try fieldValue(f.fieldPath, pod: pod, podIP: podIP, hostIP: hostIP, nodeName: nodeName)
                } else if var r = from.resourceFieldRef {
                    // The downward API's own resolver, as the kubelet's env and volume paths share
                    // `ExtractContainerResourceValue`; without a name, the container itself.
                    if (r.containerName ?? "").isEmpty { r.containerName = container.name }
                    value = try DownwardAPI.resourceValue(r, pod: pod, allocatable: .host)
                } else if let k = from.configMapKeyRef {
                    guard let cm = configMaps[k.name ?? ""] else {
                        if k.optional == true { continue }
                        throw ContainerConfigError(description: "configmap \"\(k.name ?? "")\" not found")
                    }
                    guard let v = cm.data?[k.key] else {
                        if k.optional == true { continue }
                        throw ContainerConfigError(description: "couldn't find key \(k.key) in ConfigMap \(pod.namespace)/\(k.name ?? "")")
                    }
                    value = v
                } else if let k = from.secretKeyRef {
                    guard let s = secrets[k.name ?? ""] else {
                        if k.optional == true { continue }
                        throw ContainerConfigError(description: "secret \"\(k.name ?? "")\" not found")
                    }
                    guard let v = secretData(s)[k.key] else {
                        if k.optional == true { continue }
                        throw ContainerConfigError(description: "couldn't find key \(k.key) in Secret \(pod.namespace)/\(k.name ?? "")")
                    }
                    value = v
                }
            }
            export(e.name, value)
        }
        return (env, expansion)
    }

    /// Secret values decoded from base64, with `stringData` on top as the API server merges it.
    static func secretData(_ s: Secret) -> [String: String] {
        var out: [String: String] = [:]
        for (k, v) in s.data ?? [:] {
            if let d = Data(base64Encoded: v) { out[k] = String(decoding: d, as: UTF8.self) }
        }
        for (k, v) in s.stringData ?? [:] { out[k] = v }
        return out
    }

    /// `podFieldSelectorRuntimeValue`: the node and status fields here, the object's metadata
    /// through the downward API's own resolver (`ExtractFieldPathAsString`), as the kubelet does.
    static func fieldValue(_ path: String, pod: Pod, podIP: String?, hostIP: String, nodeName: String) throws -> String {
        switch path {
        case "spec.nodeName": return nodeName
        case "spec.serviceAccountName": return pod.spec.serviceAccountName ?? "default"
        case "status.hostIP", "status.hostIPs": return hostIP
        case "status.podIP", "status.podIPs": return podIP ?? ""
        default:
            do {
                return try DownwardAPI.fieldValue(path, pod: pod)
            } catch {
                throw ContainerConfigError(description: "unsupported fieldPath: \(path)")
            }
        }
    }

    /// `expansion.Expand`: `$(VAR)` becomes VAR's value when defined, `$$(VAR)` stays literal.
    static func expand(_ input: String, _ mapping: [String: String]) -> String {
        expand(input) { mapping[$0] }
    }

    /// `ExpandContainerVolumeMounts`: `subPathExpr` expanded with the container's variables, every
    /// variable it names defined and non-empty.
    static func expandSubPathExpr(_ expr: String, _ mapping: [String: String]) throws -> String {
        var missing = Set<String>()
        let expanded = expand(expr) { name in
            let value = mapping[name] ?? ""
            if value.isEmpty { missing.insert(name) }
            return value
        }
        guard missing.isEmpty else { throw ContainerConfigError(description: "missing value for \(missing.sorted().joined(separator: ", "))") }
        return expanded
    }

    /// `lookup` gives a name's value, or nil to leave `$(NAME)` as it is.
    static func expand(_ input: String, _ lookup: (String) -> String?) -> String {
        var out = ""
        var chars = Array(input)[...]
        while let c = chars.first {
            chars = chars.dropFirst()
            guard c == "$", let next = chars.first else { out.append(c); continue }
            if next == "$" {
                out.append("$")
                chars = chars.dropFirst()
            } else if next == "(", let close = chars.firstIndex(of: ")") {
                let name = String(chars[chars.index(after: chars.startIndex)..<close])
                if let v = lookup(name) { out += v } else { out += "$(\(name))" }
                chars = chars[chars.index(after: close)...]
            } else {
                out.append(c)
            }
        }
        return out
    }
}
