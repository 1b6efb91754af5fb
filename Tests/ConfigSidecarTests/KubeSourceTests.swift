import Foundation
import Testing
@testable import ConfigSidecar

/// The API source's pure parts: the reflector's state over list and watch responses, and the
/// kubeconfig reading.
struct KubeSourceTests {
    func json(_ s: String) -> Data { Data(s.utf8) }

    @Test func listThenWatchEventsMoveObjectAndResourceVersion() throws {
        var s = InformerState()
        #expect(try s.applyList(json(#"{"kind":"SecretList","metadata":{"resourceVersion":"100"},"items":[{"metadata":{"name":"cfg","resourceVersion":"7"},"data":{"a":"b"}}]}"#), name: "cfg"))
        #expect(s.resourceVersion == "100")
        #expect(try !s.applyList(json(#"{"metadata":{"resourceVersion":"101"},"items":[{"data":{"a":"b"},"metadata":{"resourceVersion":"7","name":"cfg"}}]}"#), name: "cfg"),
                "the same object in another key order is no change")
        #expect(try s.apply(event: json(#"{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"105"}}}"#)) == .unchanged)
        #expect(s.resourceVersion == "105")
        #expect(try s.apply(event: json(#"{"type":"MODIFIED","object":{"metadata":{"name":"cfg","resourceVersion":"106"},"data":{"a":"c"}}}"#)) == .changed)
        #expect(s.resourceVersion == "106")
        #expect(s.object.map { String(decoding: $0, as: UTF8.self) }?.contains(#""a":"c""#) == true)
        #expect(try s.apply(event: json(#"{"type":"DELETED","object":{"metadata":{"name":"cfg","resourceVersion":"107"}}}"#)) == .changed)
        #expect(s.object == nil)
        #expect(try s.apply(event: json(#"{"type":"DELETED","object":{"metadata":{"name":"cfg","resourceVersion":"108"}}}"#)) == .unchanged)
        #expect(try s.apply(event: json(#"{"type":"ADDED","object":{"metadata":{"name":"cfg","resourceVersion":"109"}}}"#)) == .changed)
    }

    @Test func goneMeansListAgainAndOtherErrorsWatchAgain() throws {
        var s = InformerState()
        #expect(try s.apply(event: json(#"{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old resource version: 5 (9)"}}"#))
                == .gone("too old resource version: 5 (9)"))
        #expect(try s.apply(event: json(#"{"type":"ERROR","object":{"kind":"Status","code":500,"message":"etcd"}}"#)) == .failed("watch error 500: etcd"))
        #expect(throws: SourceError.self) { try s.apply(event: json("not json")) }
        #expect(throws: SourceError.self) { try s.apply(event: json(#"{"type":"RENAMED","object":{}}"#)) }
        #expect(throws: SourceError("list response is not a Kubernetes list")) { try s.applyList(json(#"{"kind":"Status","code":403}"#), name: "cfg") }
        // An empty list, or one without the name: the object does not exist.
        #expect(try !s.applyList(json(#"{"metadata":{"resourceVersion":"9"},"items":[]}"#), name: "cfg"))
        #expect(try !s.applyList(json(#"{"metadata":{"resourceVersion":"10"},"items":[{"metadata":{"name":"other"}}]}"#), name: "cfg"))
        #expect(s.object == nil && s.resourceVersion == "10")
    }

    @Test func kubeconfigCurrentContextAndRefusals() throws {
        try withTempDir { dir in
            let path = dir + "/kubeconfig"
            try """
                apiVersion: v1
                kind: Config
                current-context: b
                contexts: [{name: a, context: {cluster: x, user: x}}, {name: b, context: {cluster: local, user: me, namespace: tenants}}]
                clusters: [{name: local, cluster: {server: "http://127.0.0.1:8001/prefix/"}}]
                users: [{name: me, user: {tokenFile: token}}]
                """.write(toFile: path, atomically: false, encoding: .utf8)
            try "abc\n".write(toFile: dir + "/token", atomically: false, encoding: .utf8)
            let config = try KubeClientConfig.kubeconfig(path)
            #expect(config == KubeClientConfig(host: "127.0.0.1", port: 8001, basePath: "/prefix", tokenFile: dir + "/token", namespace: "tenants"),
                    "a relative tokenFile is the kubeconfig directory's")
            #expect(try config.bearerToken() == "abc")
            try "rotated\n".write(toFile: dir + "/token", atomically: false, encoding: .utf8)
            #expect(try config.bearerToken() == "rotated", "the token file is read again for each request")
            try "current-context: nope\n".write(toFile: path, atomically: false, encoding: .utf8)
            #expect(throws: SourceError("\(path): context \"nope\" not found")) { try KubeClientConfig.kubeconfig(path) }
            try "current-context: b\ncontexts: [{name: b, context: {cluster: c, user: u}}]\nclusters: [{name: c, cluster: {server: 'https://10.0.0.1'}}]\nusers: [{name: u, user: {exec: {command: aws}}}]\n"
                .write(toFile: path, atomically: false, encoding: .utf8)
            #expect { try KubeClientConfig.kubeconfig(path) } throws: { ($0 as? SourceError)?.message.contains("exec credential plugins are not supported") == true }
        }
    }

    @Test func httpsKubeconfigReadsTheCAAndTLSSettings() throws {
        try withTempDir { dir in
            let path = dir + "/kubeconfig"
            let pem = "-----BEGIN CERTIFICATE-----\nnot really\n-----END CERTIFICATE-----\n"
            try pem.write(toFile: dir + "/ca.crt", atomically: false, encoding: .utf8)
            try """
                current-context: b
                contexts: [{name: b, context: {cluster: c, user: u}}]
                clusters: [{name: c, cluster: {server: "https://[::1]:6443", certificate-authority: ca.crt, tls-server-name: api.local}}]
                users: [{name: u, user: {token: t0k, client-certificate-data: \(Data(pem.utf8).base64EncodedString())}}]
                """.write(toFile: path, atomically: false, encoding: .utf8)
            let config = try KubeClientConfig.kubeconfig(path)
            #expect(config.host == "::1" && config.port == 6443 && config.scheme == "https" && config.token == "t0k")
            #expect(config.tls == KubeClientConfig.TLS(caPEM: Array(pem.utf8), serverName: "api.local", clientCertificatePEM: Array(pem.utf8)))
            #expect { try config.sslContext() } throws: { ($0 as? SourceError)?.message.contains("TLS configuration") == true }
            try "current-context: b\ncontexts: [{name: b, context: {cluster: c}}]\nclusters: [{name: c, cluster: {server: 'https://h', insecure-skip-tls-verify: true}}]\n"
                .write(toFile: path, atomically: false, encoding: .utf8)
            let insecure = try KubeClientConfig.kubeconfig(path)
            #expect(insecure.port == 443 && insecure.tls?.insecureSkipVerify == true && insecure.token == nil)
            #expect(try insecure.sslContext() != nil)
        }
    }

    @Test func inClusterConfigUsesTheServiceAccount() throws {
        #expect(throws: SourceError.self) { try KubeClientConfig.inCluster(environment: [:]) }
        try withTempDir { dir in
            let env = ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"]
            #expect { try KubeClientConfig.inCluster(environment: env, serviceAccountDir: dir) }
                throws: { ($0 as? SourceError)?.message.contains("token file") == true }
            try "sa-token\n".write(toFile: dir + "/token", atomically: false, encoding: .utf8)
            let config = try KubeClientConfig.inCluster(environment: env, serviceAccountDir: dir)
            #expect(config.host == "10.96.0.1" && config.port == 443 && config.tls == KubeClientConfig.TLS())
            #expect(try config.bearerToken() == "sa-token")
        }
    }
}
