import Foundation
import Testing

/// Service account credentials against `tandem serve`: the `kube-root-ca.crt` ConfigMap in
/// every namespace, `kubectl create token` (the TokenRequest API, a protobuf body) giving JWTs
/// serve accepts as bearer tokens, and the ServiceAccount admission's `kube-api-access-*`
/// volume, whose token, CA and namespace a pod reads at the in-cluster path.
@Suite(.serialized) struct ServeTokenTests {
    /// The claims of a JWT (its middle part, base64url).
    static func claims(_ token: String) -> [String: Any] {
        let parts = token.split(separator: ".")
        guard parts.count == 3 else { return [:] }
        var b = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while b.count % 4 != 0 { b += "=" }
        guard let data = Data(base64Encoded: b) else { return [:] }
        return (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    static func kubeconfigCA(_ serve: ServeRun) throws -> String {
        let kubeconfig = try String(contentsOfFile: serve.root + "/kubeconfig", encoding: .utf8)
        let line = kubeconfig.split(separator: "\n").first { $0.contains("certificate-authority-data:") } ?? ""
        let b64 = line.split(separator: ":").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        return String(decoding: Data(base64Encoded: b64) ?? Data(), as: UTF8.self)
    }

    @Test func theRootCAIsPublishedInEveryNamespace() throws {
        let serve = try ServeRun()
        defer { serve.cleanup() }
        #expect(serve.ready(), "serve did not start: \(serve.stderr)")
        let ca = try Self.kubeconfigCA(serve)
        #expect(ca.hasPrefix("-----BEGIN CERTIFICATE-----"))
        func published(_ ns: String = "default") -> String {
            (try? serve.kubectl(["get", "cm", "kube-root-ca.crt", "-n", ns, "-o", #"jsonpath={.data.ca\.crt}"#]).stdout) ?? ""
        }
        #expect(published() == ca)
        #expect(published("kube-system") == ca)
        // A new namespace has it from the start.
        #expect(try serve.kubectl(["create", "namespace", "team"]).status == 0)
        #expect(published("team") == ca)
        // Deleted or edited, it comes back.
        #expect(try serve.kubectl(["delete", "cm", "kube-root-ca.crt"]).status == 0)
        #expect(waitUntil(10) { published() == ca })
        #expect(try serve.kubectl(["patch", "cm", "kube-root-ca.crt", "--type=merge", "-p", #"{"data":{"ca.crt":"forged"}}"#]).status == 0)
        #expect(waitUntil(10) { published() == ca }, "\(published())")
        #expect(serve.stop() == 0)
    }

    @Test func createTokenGivesAJWTThatServeAccepts() throws {
        let serve = try ServeRun()
        defer { serve.cleanup() }
        #expect(serve.ready(), "serve did not start: \(serve.stderr)")
        let created = try serve.kubectl(["create", "token", "default"])
        #expect(created.status == 0, "\(created.stderr)")
        let token = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let claims = Self.claims(token)
        #expect(claims["sub"] as? String == "system:serviceaccount:default:default", "\(claims)")
        #expect(claims["iss"] as? String == "https://kubernetes.default.svc.cluster.local")
        #expect(claims["aud"] as? [String] == ["https://kubernetes.default.svc.cluster.local"])
        let k8s = claims["kubernetes.io"] as? [String: Any]
        #expect(k8s?["namespace"] as? String == "default")
        #expect((k8s?["serviceaccount"] as? [String: Any])?["name"] as? String == "default")
        let uid = try serve.kubectl(["get", "sa", "default", "-o", "jsonpath={.metadata.uid}"]).stdout
        #expect((k8s?["serviceaccount"] as? [String: Any])?["uid"] as? String == uid)
        if let exp = claims["exp"] as? Int, let iat = claims["iat"] as? Int { #expect(exp - iat == 3600) } else { Issue.record("no exp/iat: \(claims)") }

        // The token authenticates; a tampered one is refused as kubectl reports it.
        let asSA = try serve.kubectl(["--token", token, "get", "pods"])
        #expect(asSA.status == 0, "\(asSA.stderr)")
        #expect(asSA.stderr.contains("No resources found in default namespace."), "\(asSA.stderr)")
        var tampered = Array(token)
        tampered[tampered.count - 2] = tampered[tampered.count - 2] == "A" ? "B" : "A"
        let refused = try serve.kubectl(["--token", String(tampered), "get", "pods"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("error: You must be logged in to the server (Unauthorized)"), "\(refused.stderr)")

        // --duration, and the API server's bounds.
        let short = try serve.kubectl(["create", "token", "default", "--duration=20m"])
        let shortClaims = Self.claims(short.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        if let exp = shortClaims["exp"] as? Int, let iat = shortClaims["iat"] as? Int { #expect(exp - iat == 1200) } else { Issue.record("\(short)") }
        let tooShort = try serve.kubectl(["create", "token", "default", "--duration=1m"])
        #expect(tooShort.status == 1)
        #expect(tooShort.stderr.contains("spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes"), "\(tooShort.stderr)")
        let missing = try serve.kubectl(["create", "token", "nobody"])
        #expect(missing.stderr.contains(#"serviceaccounts "nobody" not found"#), "\(missing.stderr)")

        // A token of a deleted service account stops working.
        #expect(try serve.kubectl(["create", "serviceaccount", "robot"]).status == 0)
        let robot = try serve.kubectl(["create", "token", "robot"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try serve.kubectl(["--token", robot, "get", "sa", "robot"]).status == 0)
        #expect(try serve.kubectl(["delete", "serviceaccount", "robot"]).status == 0)
        #expect(try serve.kubectl(["--token", robot, "get", "sa"]).stderr.contains("(Unauthorized)"))
        #expect(serve.stop() == 0)
    }

    @Test func aPodGetsItsServiceAccountTokenCAAndNamespace() throws {
        let serve = try ServeRun()
        defer { serve.cleanup() }
        #expect(serve.ready(), "serve did not start: \(serve.stderr)")
        let pods = """
            apiVersion: v1
            kind: Pod
            metadata: {name: reader}
            spec:
              terminationGracePeriodSeconds: 1
              initContainers:
              - {name: init, image: busybox, command: [cat, /var/run/secrets/kubernetes.io/serviceaccount/namespace]}
              containers:
              - name: main
                image: busybox
                command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
                volumeMounts: [{name: vault, mountPath: /var/run/secrets/tokens}]
              volumes:
              - name: vault
                projected:
                  sources: [{serviceAccountToken: {audience: vault, expirationSeconds: 7200, path: vault-token}}]
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: nomount}
            spec:
              automountServiceAccountToken: false
              terminationGracePeriodSeconds: 1
              containers:
              - {name: main, image: busybox, command: [sleep, "3600"]}

            """
        let short = try serve.kubectl(["apply", "-f", "-"], input: """
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "short"},
             "spec": {"containers": [{"name": "main", "image": "busybox"}],
                      "volumes": [{"name": "t", "projected": {"sources": [{"serviceAccountToken": {"expirationSeconds": 60, "path": "t"}}]}}]}}
            """)
        #expect(short.stderr.contains(#"The Pod "short" is invalid: spec.volumes[0].projected.sources[0].serviceAccountToken.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes"#),
                "\(short.stderr)")
        #expect(try serve.kubectl(["apply", "-f", "-"], input: pods).status == 0)
        #expect(try serve.kubectl(["wait", "--for=condition=Ready", "pod/reader", "--timeout=60s"]).status == 0)
        let spec = try serve.kubectl(["get", "pod", "reader", "-o",
            #"jsonpath={.spec.serviceAccountName}|{.spec.volumes[1].name}|{.spec.volumes[1].projected.sources[0].serviceAccountToken.expirationSeconds}|{.spec.containers[0].volumeMounts[1].mountPath}|{.spec.containers[0].volumeMounts[1].readOnly}|{.spec.initContainers[0].volumeMounts[0].name}"#]).stdout
        let fields = spec.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        #expect(fields.count == 6 && fields[0] == "default" && fields[1].hasPrefix("kube-api-access-") && fields[1].count == 21
                && fields[2] == "3607" && fields[3] == "/var/run/secrets/kubernetes.io/serviceaccount" && fields[4] == "true" && fields[5] == fields[1],
                "\(spec)")
        #expect(try serve.kubectl(["logs", "reader", "-c", "init"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "default")
        let none = try serve.kubectl(["get", "pod", "nomount", "-o", "jsonpath={.spec.volumes}|{.spec.containers[0].volumeMounts}"]).stdout
        #expect(none == "|", "\(none)")

        // Read in the container (its /var/run is a symlink to /run, which /proc/PID/root would
        // resolve against the host's root).
        func read(_ file: String) -> String? {
            let r = try? serve.kubectl(["exec", "reader", "--", "cat", "/var/run/secrets/kubernetes.io/serviceaccount/\(file)"])
            return r?.status == 0 ? r?.stdout : nil
        }
        #expect(read("namespace") == "default")
        #expect(read("ca.crt") == (try Self.kubeconfigCA(serve)))
        let token = try #require(read("token"))
        let claims = Self.claims(token)
        let podUID = try serve.kubectl(["get", "pod", "reader", "-o", "jsonpath={.metadata.uid}"]).stdout
        let bound = (claims["kubernetes.io"] as? [String: Any])?["pod"] as? [String: Any]
        #expect(bound?["name"] as? String == "reader" && bound?["uid"] as? String == podUID, "\(claims)")
        if let exp = claims["exp"] as? Int, let iat = claims["iat"] as? Int { #expect(exp - iat == 3607) } else { Issue.record("\(claims)") }
        // A projection of its own: another audience and lifetime, which serve does not accept.
        let vault = try serve.kubectl(["exec", "reader", "--", "cat", "/var/run/secrets/tokens/vault-token"]).stdout
        let vaultClaims = Self.claims(vault)
        #expect(vaultClaims["aud"] as? [String] == ["vault"], "\(vaultClaims)")
        if let exp = vaultClaims["exp"] as? Int, let iat = vaultClaims["iat"] as? Int { #expect(exp - iat == 7200) } else { Issue.record("\(vaultClaims)") }
        #expect(try serve.kubectl(["--token", vault, "get", "pods"]).stderr.contains("(Unauthorized)"))
        // Mounted read-only: the container cannot replace it.
        let write = try serve.kubectl(["exec", "reader", "--", "sh", "-c", "echo x > /var/run/secrets/kubernetes.io/serviceaccount/token"])
        #expect(write.status != 0, "\(write.stdout) \(write.stderr)")
        // The pod's token authenticates, and stops when the pod is gone.
        let asPod = try serve.kubectl(["--token", token, "get", "pod", "reader", "-o", "name"])
        #expect(asPod.stdout == "pod/reader\n", "\(asPod.stderr)")
        let execAsPod = try serve.kubectl(["--token", token, "exec", "reader", "--", "cat", "/var/run/secrets/kubernetes.io/serviceaccount/namespace"])
        #expect(execAsPod.stdout == "default", "\(execAsPod.stdout) \(execAsPod.stderr)")
        #expect(try serve.kubectl(["delete", "pod", "reader"]).status == 0)
        #expect(try serve.kubectl(["--token", token, "get", "pods"]).stderr.contains("(Unauthorized)"))
        #expect(serve.stop() == 0)
    }

    /// `kubectl auth whoami` and `kubectl auth can-i` (protobuf review bodies): the admin and a
    /// service account named as the real authenticators name them; every authenticated user is
    /// allowed everything, since Tandem has no authorizer.
    @Test func whoamiAndCanIAnswerForTheCaller() throws {
        let serve = try ServeRun()
        defer { serve.cleanup() }
        #expect(serve.ready(), "serve did not start: \(serve.stderr)")
        let admin = try serve.kubectl(["auth", "whoami"])
        #expect(admin.stdout.range(of: #"^ATTRIBUTE\s+VALUE\nUsername\s+kubernetes-admin\nGroups\s+\[system:masters system:authenticated\]\n$"#,
                                   options: .regularExpression) != nil, "\(admin.stdout) \(admin.stderr)")
        let token = try serve.kubectl(["create", "token", "default"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let robot = try serve.kubectl(["--token", token, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username} {.status.userInfo.groups}"])
        #expect(robot.stdout == #"system:serviceaccount:default:default ["system:serviceaccounts","system:serviceaccounts:default","system:authenticated"]"#,
                "\(robot.stdout) \(robot.stderr)")
        let canI = try serve.kubectl(["auth", "can-i", "create", "pods"])
        #expect(canI.status == 0 && canI.stdout == "yes\n", "\(canI.stdout) \(canI.stderr)")
        let nonResource = try serve.kubectl(["--token", token, "auth", "can-i", "get", "/healthz"])
        #expect(nonResource.stdout == "yes\n", "\(nonResource.stdout) \(nonResource.stderr)")
        let unknown = try serve.kubectl(["auth", "can-i", "create", "foos"])
        #expect(unknown.stderr.contains("Warning: the server doesn't have a resource type 'foos'"), "\(unknown.stderr)")
        #expect(try serve.kubectl(["--token", "forged", "auth", "whoami"]).stderr.contains("(Unauthorized)"))
        #expect(serve.stop() == 0)
    }
}
