import Foundation
import KubeAPI

/// Builds the files of configMap, secret, downwardAPI and projected volumes: the kubelet's
/// `configmap.MakePayload`, `secret.MakePayload`, `downwardapi.CollectData` and the projected
/// plugin's `collectData`.
enum Payloads {
    /// API defaulting for `defaultMode` of all four kinds (`SetDefaults_*VolumeSource`).
    static let defaultMode: Int32 = 0o644

    /// `configmap.MakePayload`: every key of `data` and `binaryData` without `items`; with
    /// `items`, only those keys at their paths, a missing key being an error unless optional.
    static func configMap(_ items: [KeyToPath]?, _ cm: ConfigMap, defaultMode: Int32, optional: Bool) throws -> [String: FileProjection] {
        var binary: [String: [UInt8]] = [:]
        for (k, v) in cm.binaryData ?? [:] {
            guard let d = Data(base64Encoded: v) else { throw VolumeError("configmap \"\(cm.metadata.name ?? "")\" binaryData key \(k) is not valid base64") }
            binary[k] = [UInt8](d)
        }
        var payload: [String: FileProjection] = [:]
        guard let items, !items.isEmpty else {
            for (k, v) in cm.data ?? [:] { payload[k] = FileProjection(data: Array(v.utf8), mode: defaultMode) }
            for (k, v) in binary { payload[k] = FileProjection(data: v, mode: defaultMode) }
            return payload
        }
        for item in items {
            let bytes: [UInt8]
            if let s = cm.data?[item.key] {
                bytes = Array(s.utf8)
            } else if let b = binary[item.key] {
                bytes = b
            } else {
                if optional { continue }
                throw VolumeError("configmap references non-existent config key: \(item.key)")
            }
            payload[item.path] = FileProjection(data: bytes, mode: item.mode ?? defaultMode)
        }
        return payload
    }

    /// The decoded contents of a Secret: base64 `data`, overlaid with `stringData` as the API
    /// server merges it on write.
    static func secretData(_ secret: Secret) throws -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        for (k, v) in secret.data ?? [:] {
            guard let d = Data(base64Encoded: v, options: .ignoreUnknownCharacters) else {
                throw VolumeError("secret \"\(secret.metadata.name ?? "")\" key \(k) is not valid base64")
            }
            out[k] = [UInt8](d)
        }
        for (k, v) in secret.stringData ?? [:] { out[k] = Array(v.utf8) }
        return out
    }

    /// `secret.MakePayload`.
    static func secret(_ items: [KeyToPath]?, _ secret: Secret, defaultMode: Int32, optional: Bool) throws -> [String: FileProjection] {
        let data = try secretData(secret)
        var payload: [String: FileProjection] = [:]
        guard let items, !items.isEmpty else {
            for (k, v) in data { payload[k] = FileProjection(data: v, mode: defaultMode) }
            return payload
        }
        for item in items {
            guard let bytes = data[item.key] else {
                if optional { continue }
                throw VolumeError("references non-existent secret key: \(item.key)")
            }
            payload[item.path] = FileProjection(data: bytes, mode: item.mode ?? defaultMode)
        }
        return payload
    }

    /// `downwardapi.CollectData`: one file per item, from a metadata field or a container
    /// resource. Errors are collected so that one bad item is reported with the others.
    static func downwardAPI(_ items: [DownwardAPIVolumeFile]?, pod: Pod, defaultMode: Int32,
                            allocatable: NodeAllocatable) throws -> [String: FileProjection] {
        var payload: [String: FileProjection] = [:]
        var errors: [String] = []
        for item in items ?? [] {
            let path = AtomicWriter.cleanPath(item.path)
            let mode = item.mode ?? defaultMode
            do {
                if let ref = item.fieldRef {
                    payload[path] = FileProjection(data: Array(try DownwardAPI.fieldValue(ref.fieldPath, pod: pod).utf8), mode: mode)
                } else if let ref = item.resourceFieldRef {
                    payload[path] = FileProjection(data: Array(try DownwardAPI.resourceValue(ref, pod: pod, allocatable: allocatable).utf8), mode: mode)
                } else {
                    payload[path] = FileProjection(data: [], mode: mode)
                }
            } catch let e as VolumeError {
                errors.append(e.message)
            }
        }
        if !errors.isEmpty { throw VolumeError(aggregate(errors)) }
        return payload
    }

    /// The projected plugin's `collectData`: sources merged in order, later paths winning.
    static func projected(_ source: ProjectedVolumeSource, pod: Pod, sources: VolumeSources,
                          allocatable: NodeAllocatable) throws -> [String: FileProjection] {
        let mode = source.defaultMode ?? defaultMode
        var payload: [String: FileProjection] = [:]
        var errors: [String] = []
        for projection in source.sources ?? [] {
            do {
                if let s = projection.secret {
                    let optional = s.optional ?? false
                    let name = s.name ?? ""
                    guard let secret = sources.secrets[name] ?? (optional ? emptySecret(name) : nil) else {
                        throw VolumeError("secret \"\(name)\" not found")
                    }
                    payload.merge(try Self.secret(s.items, secret, defaultMode: mode, optional: optional)) { $1 }
                } else if let c = projection.configMap {
                    let optional = c.optional ?? false
                    let name = c.name ?? ""
                    guard let cm = sources.configMaps[name] ?? (optional ? emptyConfigMap(name) : nil) else {
                        throw VolumeError("configmap \"\(name)\" not found")
                    }
                    payload.merge(try configMap(c.items, cm, defaultMode: mode, optional: optional)) { $1 }
                } else if let d = projection.downwardAPI {
                    payload.merge(try downwardAPI(d.items, pod: pod, defaultMode: mode, allocatable: allocatable)) { $1 }
                } else if let t = projection.serviceAccountToken {
                    // Under `tandem run` there is no API server to issue tokens (TokenRequest).
                    guard let tokens = sources.tokens else {
                        throw VolumeError("serviceAccountToken projections are not supported by Tandem (no token issuer)")
                    }
                    let expiration: Int64 = if case .int(let e)? = t["expirationSeconds"] { e } else { 3600 }
                    let token = try tokens.token(for: pod, audience: t["audience"]?.stringValue, expirationSeconds: expiration)
                    payload[AtomicWriter.cleanPath(t["path"]?.stringValue ?? "token")] = FileProjection(data: Array(token.utf8), mode: mode)
                } else if projection.clusterTrustBundle != nil {
                    throw VolumeError("clusterTrustBundle projections are not supported by Tandem")
                }
            } catch let e as VolumeError {
                errors.append(e.message)
            }
        }
        if !errors.isEmpty { throw VolumeError(aggregate(errors)) }
        return payload
    }

    static func emptySecret(_ name: String) -> Secret {
        var s = try! JSONDecoder().decode(Secret.self, from: Data(#"{"metadata":{}}"#.utf8))
        s.metadata.name = name
        return s
    }

    static func emptyConfigMap(_ name: String) -> ConfigMap {
        var c = try! JSONDecoder().decode(ConfigMap.self, from: Data(#"{"metadata":{}}"#.utf8))
        c.metadata.name = name
        return c
    }

    /// `utilerrors.NewAggregate(...).Error()`: one error as itself, several as `[a, b]`.
    static func aggregate(_ errors: [String]) -> String {
        errors.count == 1 ? errors[0] : "[" + errors.joined(separator: ", ") + "]"
    }
}
