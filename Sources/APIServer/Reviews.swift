import Foundation
import KubeAPI

/// Who a request comes from, as the authenticator hands it on to the rest of the server
/// (`user.Info`).
public struct UserInfo: Sendable, Equatable {
    public var username: String
    public var uid: String?
    public var groups: [String]
    public var extra: [String: [String]] = [:]

    /// The kubeconfig's bearer token: the cluster administrator, in the group RBAC's default
    /// `cluster-admin` binding names.
    static let admin = UserInfo(username: "kubernetes-admin", groups: ["system:masters", "system:authenticated"])

    /// A service account token's subject, named and grouped as the service account
    /// authenticator names it, with the bound pod (and its node) in `extra`.
    static func serviceAccount(_ subject: ServiceAccountTokens.Subject) -> UserInfo {
        var user = UserInfo(username: "system:serviceaccount:\(subject.namespace):\(subject.serviceAccount.name)",
                            uid: subject.serviceAccount.uid,
                            groups: ["system:serviceaccounts", "system:serviceaccounts:\(subject.namespace)", "system:authenticated"])
        if let pod = subject.pod {
            user.extra["authentication.kubernetes.io/pod-name"] = [pod.name]
            user.extra["authentication.kubernetes.io/pod-uid"] = [pod.uid]
        }
        if let node = subject.node {
            user.extra["authentication.kubernetes.io/node-name"] = [node.name]
            user.extra["authentication.kubernetes.io/node-uid"] = [node.uid]
        }
        return user
    }

    var json: JSONValue {
        var o: [String: JSONValue] = ["username": .string(username), "groups": .array(groups.map { .string($0) })]
        if let uid { o["uid"] = .string(uid) }
        if !extra.isEmpty { o["extra"] = .object(extra.mapValues { .array($0.map { .string($0) }) }) }
        return .object(o)
    }
}

/// The reviews a client asks about itself: `SelfSubjectReview` (`kubectl auth whoami`) and
/// `SelfSubjectAccessReview` (`kubectl auth can-i`). They are answered, never stored (201, as
/// the real registry's `Create` answers them).
///
/// Tandem has no authorizer: every authenticated user — the administrator and every service
/// account — may do everything (as with `--authorization-mode=AlwaysAllow`), and the access
/// review says so rather than pretend to evaluate RBAC.
enum Reviews {
    static func answer(_ r: APIResource, body: JSONValue, user: UserInfo) throws(APIError) -> JSONValue {
        guard body["kind"]?.stringValue ?? r.kind == r.kind else {
            throw .badRequest("the API version in the data (\(body["apiVersion"]?.stringValue ?? "")) does not match the expected API version (\(r.apiVersion))")
        }
        let meta = JSONValue.object(["creationTimestamp": .null])
        var answer: [String: JSONValue] = ["kind": .string(r.kind), "apiVersion": .string(r.apiVersion), "metadata": meta]
        switch r.kind {
        case "SelfSubjectReview":
            answer["status"] = .object(["userInfo": user.json])
        default:
            let spec = body["spec"] ?? .object([:])
            let resource = spec["resourceAttributes"], nonResource = spec["nonResourceAttributes"]
            switch (resource, nonResource) {
            case (nil, nil), (.null?, .null?), (nil, .null?), (.null?, nil):
                throw .invalid(r, "", [.required("spec.resourceAttributes", "exactly one of nonResourceAttributes or resourceAttributes must be specified")])
            case (let a?, let b?) where a != .null && b != .null:
                throw .invalid(r, "", [.invalid("spec.nonResourceAttributes", "<object>", "cannot be specified in combination with resourceAttributes")])
            default:
                break
            }
            answer["spec"] = spec
            answer["status"] = .object(["allowed": .bool(true),
                                        "reason": .string("tandem has no authorizer: every authenticated user may do everything")])
        }
        return .object(answer)
    }
}
