import Controllers
import Foundation
import KubeAPI

extension APIResource {
    /// Not a served kind: the body of `serviceaccounts/token`, named in its errors.
    static let tokenRequests = APIResource("authentication.k8s.io", "v1", "tokenrequests", "TokenRequest")
}

/// The ServiceAccount admission plugin (`plugin/pkg/admission/serviceaccount/admission.go`) and
/// what a namespace gets when it is made.
extension Registry {
    /// Where the plugin mounts the credentials (`DefaultAPITokenMountPath`).
    public static let serviceAccountMountPath = "/var/run/secrets/kubernetes.io/serviceaccount"
    /// The root-ca-cert-publisher's ConfigMap.
    public static let rootCAConfigMap = "kube-root-ca.crt"
    static let rootCADescription = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."
    /// `serviceaccount.WarnOnlyBoundTokenExpirationSeconds`: what the plugin asks the kubelet for.
    static let projectedTokenExpirationSeconds: Int64 = 3607

    /// A new pod gets the service account `default` when it names none (`serviceAccountName`
    /// and the deprecated `serviceAccount` alike) and, unless `automountServiceAccountToken` is
    /// false on the pod (else on the service account), the `kube-api-access-XXXXX` projected
    /// volume — a bound token, `ca.crt` from `kube-root-ca.crt` and the namespace — mounted
    /// read-only at `/var/run/secrets/kubernetes.io/serviceaccount` in every container and init
    /// container that has nothing mounted there already. A named service account that does not
    /// exist refuses the pod (403), as the plugin does.
    func admitServiceAccount(_ pod: JSONValue, namespace: String, name: String) throws(APIError) -> JSONValue {
        if pod["metadata"]?["annotations"]?["kubernetes.io/config.mirror"] != nil { return pod }
        var spec = pod["spec"]?.objectValue ?? [:]
        var account = spec["serviceAccountName"]?.stringValue ?? ""
        if account.isEmpty { account = spec["serviceAccount"]?.stringValue ?? "" }
        if account.isEmpty { account = "default" }
        spec["serviceAccountName"] = .string(account)
        spec["serviceAccount"] = .string(account)
        let sa = try? get(.serviceAccounts, namespace: namespace, name: account)
        // The `default` account is made with its namespace; in the instant before (a namespace
        // from before this Tandem) the pod is let through rather than refused.
        if sa == nil, account != "default" {
            throw APIError(code: 403, reason: "Forbidden",
                           message: "pods \"\(name)\" is forbidden: error looking up service account \(namespace)/\(account): serviceaccount \"\(account)\" not found",
                           details: APIError.details(.pods, name))
        }
        func flag(_ v: JSONValue?) -> Bool? { if case .bool(let b)? = v { b } else { nil } }
        let automount = flag(spec["automountServiceAccountToken"]) ?? flag(sa?["automountServiceAccountToken"]) ?? true
        if automount { mountServiceAccountToken(&spec) }
        return pod.setting("spec", .object(spec))
    }

    /// The plugin's `mountServiceAccountToken`.
    private func mountServiceAccountToken(_ spec: inout [String: JSONValue]) {
        var volumes = spec["volumes"]?.arrayValue ?? []
        let existing = volumes.compactMap { $0["name"]?.stringValue }.first { $0.hasPrefix("kube-api-access-") }
        let volumeName = existing ?? "kube-api-access-" + NameGenerator.randomSuffix()
        let mount = JSONValue.object(["name": .string(volumeName), "readOnly": .bool(true), "mountPath": .string(Self.serviceAccountMountPath)])
        var needed = false
        for field in ["initContainers", "containers"] {
            guard var containers = spec[field]?.arrayValue else { continue }
            for i in containers.indices {
                var mounts = containers[i]["volumeMounts"]?.arrayValue ?? []
                if mounts.contains(where: { $0["mountPath"]?.stringValue == Self.serviceAccountMountPath }) { continue }
                mounts.append(mount)
                containers[i] = containers[i].setting("volumeMounts", .array(mounts))
                needed = true
            }
            spec[field] = .array(containers)
        }
        guard needed, existing == nil else { return }
        let sources: [JSONValue] = [
            .object(["serviceAccountToken": .object(["expirationSeconds": .int(Self.projectedTokenExpirationSeconds), "path": .string("token")])]),
            .object(["configMap": .object(["name": .string(Self.rootCAConfigMap),
                                           "items": .array([.object(["key": .string("ca.crt"), "path": .string("ca.crt")])])])]),
            .object(["downwardAPI": .object(["items": .array([.object([
                "path": .string("namespace"),
                "fieldRef": .object(["apiVersion": .string("v1"), "fieldPath": .string("metadata.namespace")]),
            ])])])]),
        ]
        volumes.append(.object(["name": .string(volumeName), "projected": .object(["defaultMode": .int(0o644), "sources": .array(sources)])]))
        spec["volumes"] = .array(volumes)
    }

    /// What a namespace holds from its first moment on a real cluster, made here in the same
    /// request rather than an instant later by the controllers (which still make them again if
    /// deleted): the `default` ServiceAccount and the `kube-root-ca.crt` ConfigMap. So a pod
    /// created right after its namespace finds both.
    func populate(namespace: String) {
        if (try? get(.serviceAccounts, namespace: namespace, name: "default")) == nil {
            _ = try? create(.serviceAccounts, namespace: namespace, body: .object(["metadata": .object(["name": .string("default")])]))
        }
        publishRootCA(namespace: namespace)
    }

    /// The root-ca-cert-publisher's sync of one namespace: `kube-root-ca.crt` with `ca.crt` the
    /// cluster's CA, created if missing and put back if changed.
    public func publishRootCA(namespace: String) {
        guard let ca = tokens?.rootCA else { return }
        let data = JSONValue.object(["ca.crt": .string(ca)])
        let annotations = JSONValue.object(["kubernetes.io/description": .string(Self.rootCADescription)])
        guard let current = try? get(.configMaps, namespace: namespace, name: Self.rootCAConfigMap) else {
            _ = try? create(.configMaps, namespace: namespace, body: .object([
                "metadata": .object(["name": .string(Self.rootCAConfigMap), "annotations": annotations]), "data": data,
            ]))
            return
        }
        let meta = current["metadata"]
        guard current["data"] != data || current["binaryData"] != nil || meta?["annotations"]?["kubernetes.io/description"] != annotations["kubernetes.io/description"] else { return }
        var object = current.setting("data", data).setting("binaryData", nil)
        var annotated = meta?["annotations"]?.objectValue ?? [:]
        annotated["kubernetes.io/description"] = annotations["kubernetes.io/description"]
        object = object.setting("metadata", (meta ?? .object([:])).setting("annotations", .object(annotated)))
        _ = try? update(.configMaps, namespace: namespace, name: Self.rootCAConfigMap, body: object)
    }
}
