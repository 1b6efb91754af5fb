import Crypto
import Foundation
import KubeAPI

/// The API server's service account token signer and authenticator
/// (`pkg/serviceaccount/jwt.go`): JWTs signed with a key kept in `ROOT/pki/sa.key` (ES256, mode
/// 0600; kube-apiserver's `--service-account-signing-key-file`), carrying the claims of a bound
/// token (`iss`, `sub system:serviceaccount:NS:SA`, `aud`, `exp`, `iat`, `nbf`, `jti` and the
/// private `kubernetes.io` claim naming the namespace, the service account and, for a token bound
/// to a pod, the pod and its node). It also keeps the cluster's root CA, which the
/// root-ca-cert-publisher puts into every namespace as `kube-root-ca.crt`.
public final class ServiceAccountTokens: Sendable {
    /// kube-apiserver's `--service-account-issuer` as clusters set it up, and the default audience.
    public static let issuer = "https://kubernetes.default.svc.cluster.local"
    /// The TokenRequest default (`spec.expirationSeconds` unset): one hour.
    public static let defaultExpirationSeconds: Int64 = 3600

    /// The signing key's raw scalar (the key type itself is not `Sendable`).
    private let keyBytes: Data
    private let keyID: String
    private var key: P256.Signing.PrivateKey { try! P256.Signing.PrivateKey(rawRepresentation: keyBytes) }
    /// The CA that signed the serving certificate (`ca.crt` of `kube-root-ca.crt`).
    public let rootCA: String

    public init(key: P256.Signing.PrivateKey, rootCA: String) {
        keyBytes = key.rawRepresentation
        self.rootCA = rootCA
        // The real signer's `kid`: the SHA-256 of the public key's DER, base64url.
        keyID = Self.base64URL(Data(SHA256.hash(data: key.publicKey.derRepresentation)))
    }

    /// Loads the signing key from `dir/sa.key`, making one on first start.
    public static func load(dir: String, rootCA: String) throws -> ServiceAccountTokens {
        let path = dir + "/sa.key"
        if let pem = PKI.read(path) {
            return ServiceAccountTokens(key: try P256.Signing.PrivateKey(pemRepresentation: pem), rootCA: rootCA)
        }
        let key = P256.Signing.PrivateKey()
        try PKI.write(path, key.pemRepresentation + "\n")
        return ServiceAccountTokens(key: key, rootCA: rootCA)
    }

    /// Who a token speaks for: the `kubernetes.io` claim.
    public struct Subject: Sendable {
        public var namespace: String
        public var serviceAccount: (name: String, uid: String)
        public var pod: (name: String, uid: String)?
        public var node: (name: String, uid: String)?

        public init(namespace: String, serviceAccount: (name: String, uid: String), pod: (name: String, uid: String)? = nil,
                    node: (name: String, uid: String)? = nil) {
            self.namespace = namespace
            self.serviceAccount = serviceAccount
            self.pod = pod
            self.node = node
        }
    }

    /// A signed token for `subject`, valid from `now` for `expirationSeconds`.
    public func sign(_ subject: Subject, audiences: [String], expirationSeconds: Int64, now: Date = Date()) -> String {
        let iat = Int64(now.timeIntervalSince1970)
        var private_: [String: JSONValue] = [
            "namespace": .string(subject.namespace),
            "serviceaccount": .object(["name": .string(subject.serviceAccount.name), "uid": .string(subject.serviceAccount.uid)]),
        ]
        if let pod = subject.pod { private_["pod"] = .object(["name": .string(pod.name), "uid": .string(pod.uid)]) }
        if let node = subject.node { private_["node"] = .object(["name": .string(node.name), "uid": .string(node.uid)]) }
        let claims = JSONValue.object([
            "aud": .array(audiences.map { .string($0) }), "exp": .int(iat + expirationSeconds), "iat": .int(iat), "nbf": .int(iat),
            "iss": .string(Self.issuer), "jti": .string(UUID().uuidString.lowercased()),
            "sub": .string("system:serviceaccount:\(subject.namespace):\(subject.serviceAccount.name)"),
            "kubernetes.io": .object(private_),
        ])
        let header = JSONValue.object(["alg": .string("ES256"), "kid": .string(keyID)])
        let signingInput = Self.base64URL(Data(header.compactJSON().utf8)) + "." + Self.base64URL(Data(claims.compactJSON().utf8))
        // JWS ES256 is the raw r‖s pair, which is swift-crypto's raw representation.
        let signature = (try? key.signature(for: Data(signingInput.utf8)).rawRepresentation) ?? Data()
        return signingInput + "." + Self.base64URL(signature)
    }

    /// The subject of a token this server signed, still valid at `now` and meant for the API
    /// server (its audience); nil otherwise. Whether the service account (and bound pod) still
    /// exist is the caller's check, as the real authenticator's `Validate` does.
    public func verify(_ token: String, now: Date = Date()) -> (subject: Subject, expires: Date)? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, let headerData = Self.unbase64URL(parts[0]), let claimsData = Self.unbase64URL(parts[1]),
              let signatureData = Self.unbase64URL(parts[2]),
              let header = try? JSONValue(parsing: headerData), header["alg"]?.stringValue == "ES256",
              let signature = try? P256.Signing.ECDSASignature(rawRepresentation: signatureData),
              key.publicKey.isValidSignature(signature, for: Data((parts[0] + "." + parts[1]).utf8)),
              let claims = try? JSONValue(parsing: claimsData),
              claims["iss"]?.stringValue == Self.issuer,
              case .int(let exp)? = claims["exp"], case .int(let nbf)? = claims["nbf"] else { return nil }
        let nowSeconds = Int64(now.timeIntervalSince1970)
        // The real validator allows 60 s of clock skew at either end (`NotBefore`/`Expiry` leeway).
        guard nowSeconds < exp + 60, nowSeconds >= nbf - 60 else { return nil }
        guard claims["aud"]?.arrayValue?.contains(.string(Self.issuer)) == true else { return nil }
        let k = claims["kubernetes.io"]
        guard let namespace = k?["namespace"]?.stringValue, let sa = k?["serviceaccount"]?["name"]?.stringValue,
              let saUID = k?["serviceaccount"]?["uid"]?.stringValue else { return nil }
        var subject = Subject(namespace: namespace, serviceAccount: (sa, saUID))
        if let pod = k?["pod"]?["name"]?.stringValue, let uid = k?["pod"]?["uid"]?.stringValue { subject.pod = (pod, uid) }
        return (subject, Date(timeIntervalSince1970: TimeInterval(exp)))
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func unbase64URL(_ s: String) -> Data? {
        var b = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while b.count % 4 != 0 { b += "=" }
        return Data(base64Encoded: b)
    }
}

extension Registry {
    /// Who an `Authorization` header's credential belongs to, if this server accepts it: the
    /// admin token of the kubeconfig, or a service account token it signed whose service account
    /// (and bound pod) still exist with the uids the token names — the real authenticator's
    /// `legacyValidator`/bound-token checks, so a deleted pod's token stops working. The scheme
    /// is matched case-insensitively, as the bearer token authenticator does: the Python
    /// client's in-cluster config sends `bearer <token>`.
    func authenticate(_ header: String?, adminToken: String) -> UserInfo? {
        let parts = (header ?? "").trimmingCharacters(in: .whitespaces).split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty else { return nil }
        let token = String(parts[1])
        if token == adminToken { return .admin }
        guard let subject = tokens?.verify(token)?.subject else { return nil }
        guard let sa = try? get(.serviceAccounts, namespace: subject.namespace, name: subject.serviceAccount.name),
              sa["metadata"]?["uid"]?.stringValue == subject.serviceAccount.uid else { return nil }
        if let pod = subject.pod {
            guard let stored = try? get(.pods, namespace: subject.namespace, name: pod.name),
                  stored["metadata"]?["uid"]?.stringValue == pod.uid, stored["metadata"]?["deletionTimestamp"] == nil else { return nil }
        }
        return .serviceAccount(subject)
    }

    /// `POST …/serviceaccounts/SA/token` (`kubectl create token`): an `authentication.k8s.io/v1`
    /// TokenRequest answered with a signed token (`pkg/registry/core/serviceaccount/storage/token.go`):
    /// audiences default to the API server's, `expirationSeconds` to 3600 and must lie between
    /// 10 minutes and 2^32 seconds; a `boundObjectRef` to a Pod binds the token to that pod.
    public func requestToken(namespace: String, serviceAccount: String, body: JSONValue) throws(APIError) -> JSONValue {
        guard let tokens else { throw .notFound(.serviceAccounts, serviceAccount) }
        let sa = try get(.serviceAccounts, namespace: namespace, name: serviceAccount)
        let resource = APIResource.tokenRequests
        var spec = body["spec"]?.objectValue ?? [:]
        let expiration: Int64 = if case .int(let e)? = spec["expirationSeconds"] { e } else { ServiceAccountTokens.defaultExpirationSeconds }
        var errors: [FieldError] = []
        if expiration < 600 {
            errors.append(.invalid("spec.expirationSeconds", "\(expiration)", "may not specify a duration less than 10 minutes"))
        } else if expiration > 1 << 32 {
            errors.append(.invalid("spec.expirationSeconds", "\(expiration)", "may not specify a duration larger than 2^32 seconds"))
        }
        if !errors.isEmpty { throw .invalid(resource, serviceAccount, errors) }
        var audiences = (spec["audiences"]?.arrayValue ?? []).compactMap(\.stringValue)
        if audiences.isEmpty { audiences = [ServiceAccountTokens.issuer] }
        var subject = ServiceAccountTokens.Subject(namespace: namespace,
                                                   serviceAccount: (serviceAccount, sa["metadata"]?["uid"]?.stringValue ?? ""))
        if let ref = spec["boundObjectRef"], ref != .null {
            let kind = ref["kind"]?.stringValue ?? "", name = ref["name"]?.stringValue ?? ""
            guard kind == "Pod" else {
                throw .badRequest("cannot bind token for serviceaccount \"\(serviceAccount)\" to object of kind \"\(kind)\": only Pod is served")
            }
            let pod = try get(.pods, namespace: namespace, name: name)
            let uid = pod["metadata"]?["uid"]?.stringValue ?? ""
            if let wanted = ref["uid"]?.stringValue, !wanted.isEmpty, wanted != uid {
                throw APIError(code: 409, reason: "Conflict",
                               message: "Operation cannot be fulfilled on pods \"\(name)\": the UID in the bound object reference (\(wanted)) does not match the UID in record. The object might have been deleted and then recreated")
            }
            subject.pod = (name, uid)
            if let node = pod["spec"]?["nodeName"]?.stringValue, let stored = try? get(.nodes, namespace: "", name: node) {
                subject.node = (node, stored["metadata"]?["uid"]?.stringValue ?? "")
            }
            spec["boundObjectRef"] = ref.setting("uid", .string(uid))
        }
        let now = Date()
        let token = tokens.sign(subject, audiences: audiences, expirationSeconds: expiration, now: now)
        spec["audiences"] = .array(audiences.map { .string($0) })
        spec["expirationSeconds"] = .int(expiration)
        let meta = (body["metadata"]?.objectValue ?? [:]).merging(["name": .string(serviceAccount), "namespace": .string(namespace),
                                                                   "creationTimestamp": .string(Timestamp.string(now))]) { $1 }
        return .object([
            "kind": .string("TokenRequest"), "apiVersion": .string("authentication.k8s.io/v1"), "metadata": .object(meta), "spec": .object(spec),
            "status": .object(["token": .string(token),
                               "expirationTimestamp": .string(Timestamp.string(now.addingTimeInterval(TimeInterval(expiration))))]),
        ])
    }
}
