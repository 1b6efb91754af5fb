import Foundation
import Testing

/// `fieldValidation`: kubectl's `--validate=strict|warn|false` become `Strict`, `Warn` and
/// `Ignore`, and a client that sends none gets the server's default, `Warn`.
@Suite(.serialized) struct ServeValidationTests {
    @Test func unknownFieldsAreRefusedWarnedOrIgnoredAsAsked() throws {
        let serve = try ServeRun()
        defer { serve.cleanup() }
        #expect(serve.ready(), "serve did not start: \(serve.stderr)")
        let dir = try Tandem.tempDir("tandem-serve-validate")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func manifest(_ name: String) throws -> String {
            let path = "\(dir)/\(name).yaml"
            try """
                apiVersion: v1
                kind: ConfigMap
                metadata:
                  name: \(name)
                  colour: blue
                data:
                  a: "1"
                """.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let strict = try serve.kubectl(["apply", "--validate=strict", "-f", manifest("strict")])
        #expect(strict.status == 1)
        #expect(strict.stderr.contains(#"strict decoding error: unknown field "metadata.colour""#), "\(strict.stderr)")

        let warn = try serve.kubectl(["apply", "--validate=warn", "-f", manifest("warned")])
        #expect(warn.status == 0, "\(warn.stderr)")
        #expect(warn.stderr.contains(#"Warning: unknown field "metadata.colour""#), "\(warn.stderr)")
        #expect(warn.stdout == "configmap/warned created\n", "\(warn.stdout)")

        let ignore = try serve.kubectl(["apply", "--validate=false", "-f", manifest("ignored")])
        #expect(ignore.status == 0, "\(ignore.stderr)")
        #expect(!ignore.stderr.contains("Warning"), "\(ignore.stderr)")

        // Stored without the field (kubectl's last-applied annotation still quotes it), with what else it said.
        let stored = try serve.kubectl(["get", "configmap", "ignored", "-o", "jsonpath={.metadata.colour}|{.data.a}"])
        #expect(stored.stdout == "|1", "\(stored.stdout)")
        #expect(try serve.kubectl(["get", "configmap", "strict"]).status == 1)
        #expect(serve.stop() == 0)
    }

    /// kubectl validates a `kind: List` on the client with `/openapi/v2` (gnostic protobuf) even
    /// when the v3 documents declare `fieldValidation`, and fails when it is missing; each item
    /// still meets the server's strict check.
    @Test func listManifestsAreCreatedAndTheirItemsCheckedStrictly() throws {
        let serve = try ServeRun()
        defer { serve.cleanup() }
        #expect(serve.ready(), "serve did not start: \(serve.stderr)")
        let dir = try Tandem.tempDir("tandem-serve-list")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func list(_ name: String, _ extra: String) throws -> String {
            let path = "\(dir)/\(name).json"
            try """
                {"apiVersion": "v1", "kind": "List", "items": [
                  {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "\(name)-a"}, "data": {"k": "1"}},
                  {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "\(name)-b"}, "stringData": {"k": "2"}\(extra)}]}
                """.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let created = try serve.kubectl(["create", "-f", list("good", "")])
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stdout == "configmap/good-a created\nsecret/good-b created\n", "\(created.stdout)")

        let bad = try serve.kubectl(["create", "-f", list("bad", #", "colour": "blue""#)])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains(#"Secret in version "v1" cannot be handled as a Secret: strict decoding error: unknown field "colour""#),
                "\(bad.stderr)")

        // What `kubectl get -o yaml` prints is a List, and it goes back in with apply.
        let exported = try serve.kubectl(["get", "configmap/good-a", "secret/good-b", "-o", "yaml"])
        #expect(exported.stdout.contains("kind: List"), "\(exported.stdout)")
        let path = "\(dir)/exported.yaml"
        try exported.stdout.write(toFile: path, atomically: true, encoding: .utf8)
        let applied = try serve.kubectl(["apply", "-f", path])
        #expect(applied.status == 0, "\(applied.stderr)")
        #expect(applied.stdout.contains("configmap/good-a"), "\(applied.stdout)")
        #expect(serve.stop() == 0)
    }
}
