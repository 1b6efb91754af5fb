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
}
