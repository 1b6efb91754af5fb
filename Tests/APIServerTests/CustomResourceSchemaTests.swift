import Foundation
import KubeAPI
import Testing
@testable import APIServer

/// `CustomResourceSchema`'s pruning, defaulting and validation rules, one by one.
@Suite struct CustomResourceSchemaTests {
    static func json(_ text: String) throws -> JSONValue { try JSONValue(parsing: Data(text.utf8)) }

    let schema = try! CustomResourceSchema(root: json("""
        {"type": "object", "properties": {"spec": {"type": "object", "properties": {
          "pools": {"type": "array", "minItems": 1, "maxItems": 2, "items": {"type": "object", "required": ["name"], "properties": {
            "name": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 5},
            "servers": {"type": "integer", "default": 4, "multipleOf": 2}}}},
          "port": {"x-kubernetes-int-or-string": true},
          "note": {"type": "string", "nullable": true, "minLength": 2},
          "ratio": {"type": "number", "minimum": 0, "exclusiveMinimum": true}}}}}
        """))

    @Test func unknownFieldsArePrunedAtEveryDepthAndDefaultsFilled() throws {
        var unknown: [String] = []
        let pruned = schema.pruned(try Self.json("""
            {"apiVersion": "x/v1", "kind": "K", "metadata": {"name": "a", "odd": 1}, "top": 1,
             "spec": {"pools": [{"name": "a", "size": 3}, {"name": "b", "servers": 6}], "port": "http"}}
            """), unknown: &unknown)
        #expect(unknown.sorted() == ["spec.pools[0].size", "top"])
        #expect(pruned == (try Self.json("""
            {"apiVersion": "x/v1", "kind": "K", "metadata": {"name": "a", "odd": 1},
             "spec": {"pools": [{"name": "a", "servers": 4}, {"name": "b", "servers": 6}], "port": "http"}}
            """)))
        #expect(schema.validate(pruned).isEmpty)
    }

    @Test func eachRuleGivesTheValidatorsMessage() throws {
        let errors = schema.validate(try Self.json("""
            {"spec": {"pools": [{"name": "Abcdef", "servers": 3}, {"servers": 2}, {"name": "c"}],
                      "port": true, "note": "x", "ratio": 0}}
            """)).map(\.description)
        #expect(errors == [
            "spec.note: Invalid value: \"x\": spec.note in body should be at least 2 chars long",
            "spec.pools: Too many: 3: must have at most 2 items",
            "spec.pools[0].name: Too long: may not be more than 5 bytes",
            "spec.pools[0].name: Invalid value: \"Abcdef\": spec.pools[0].name in body should match '^[a-z]+$'",
            "spec.pools[0].servers: Invalid value: 3: spec.pools[0].servers in body should be a multiple of 2",
            "spec.pools[1].name: Required value",
            "spec.port: Invalid value: true: spec.port in body must be of type integer,string: \"boolean\"",
            "spec.ratio: Invalid value: 0: spec.ratio in body should be greater than 0",
        ])
        #expect(schema.validate(try Self.json(#"{"spec": {"pools": [], "note": null, "port": 8080}}"#)).map(\.description)
                == ["spec.pools: Invalid value: []interface {}{}: spec.pools in body should have at least 1 items"])
    }
}
