import Foundation
import KubeAPI
import Testing

@testable import APIServer

/// Unknown fields dropped by `fieldValidation=Warn|Ignore`, at the paths decoding names them.
@Suite struct FieldValidationTests {
    @Test func pruningRemovesExactlyTheNamedFields() throws {
        let tree = try JSONDecoder().decode(JSONValue.self, from: Data("""
            {"spec": {"containers": [{"name": "a", "comand": ["x"]}, {"name": "b", "imag": "y", "image": "busybox"}], "extra": 1},
             "metadata": {"name": "p", "labels": {"app.kubernetes.io/name": "p"}}}
            """.utf8))
        let pruned = FieldValidation.pruning(tree, ["spec.containers[0].comand", "spec.containers[1].imag", "spec.extra", "spec.nothing[3].x"])
        let expected = try JSONDecoder().decode(JSONValue.self, from: Data("""
            {"spec": {"containers": [{"name": "a"}, {"name": "b", "image": "busybox"}]},
             "metadata": {"name": "p", "labels": {"app.kubernetes.io/name": "p"}}}
            """.utf8))
        #expect(pruned == expected)
    }

    @Test func theDirectiveDefaultsToWarnAndRefusesOthers() throws {
        #expect(try FieldValidation(query: nil) == .warn)
        #expect(try FieldValidation(query: "Strict") == .strict)
        #expect(try FieldValidation(query: "Ignore") == .ignore)
        #expect(throws: APIError.self) { try FieldValidation(query: "strict") }
    }
}
