import Foundation
import Testing

/// CustomResourceDefinitions in `tandem serve`, driven by the real kubectl: a CRD applied is a
/// kind kubectl can use at once, with its printer columns, status subresource, generation,
/// merge and JSON patches (strategic merge refused as on a real server), selectors and watch;
/// a bad CRD gets the API server's field errors; deleting the CRD deletes its objects.
@Suite(.serialized) struct ServeCustomResourceTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples").path

    @Test func aTenantCRDIsServedToKubectlAtOnce() throws {
        let serve = try ServeRun()
        var watcher: Process?
        defer {
            if let w = watcher, w.isRunning { w.terminate(); w.waitUntilExit() }
            serve.cleanup()
        }
        #expect(serve.ready(), "serve did not start: \(serve.stderr)")
        // Discovery is cached before the CRD exists, as on a workstation that used the cluster.
        #expect(try serve.kubectl(["get", "pods"]).status == 0)

        let crd = try serve.kubectl(["apply", "-f", Self.examples + "/minio-tenant-crd.yaml"])
        #expect(crd.status == 0, "\(crd.stderr)")
        #expect(crd.stdout.contains("customresourcedefinition.apiextensions.k8s.io/tenants.minio.min.io created"), "\(crd.stdout)")
        let established = try serve.kubectl(["get", "crd", "tenants.minio.min.io", "-o",
                                             #"jsonpath={.status.conditions[?(@.type=="Established")].status} {.status.acceptedNames.kind}"#])
        #expect(established.stdout == "True Tenant", "\(established.stdout) \(established.stderr)")

        let applied = try serve.kubectl(["apply", "-f", Self.examples + "/minio-tenant.yaml"])
        #expect(applied.status == 0, "\(applied.stderr)")
        #expect(applied.stdout.contains("tenant.minio.min.io/myminio created"), "\(applied.stdout)")

        let w = try serve.kubectlInBackground(["get", "tenants", "-w", "--output-watch-events"])
        watcher = w.process
        let status = try serve.kubectl(["patch", "tenant", "myminio", "--subresource=status", "--type=merge",
                                        "-p", #"{"status":{"currentState":"Initialized","healthStatus":"green"}}"#])
        #expect(status.status == 0, "\(status.stderr)")
        let table = try serve.kubectl(["get", "tenants"])
        #expect(table.stdout.range(of: #"^NAME\s+STATE\s+HEALTH\s+AGE\nmyminio\s+Initialized\s+green\s+\d+s\n$"#, options: .regularExpression) != nil,
                "\(table.stdout) \(table.stderr)")

        // kubectl apply sends a JSON merge patch for a kind it has no Go type for.
        let changed = try String(contentsOfFile: Self.examples + "/minio-tenant.yaml", encoding: .utf8)
            .replacingOccurrences(of: "servers: 4", with: "servers: 8")
        let file = serve.outDir + "/tenant.yaml"
        try changed.write(toFile: file, atomically: true, encoding: .utf8)
        let reapplied = try serve.kubectl(["apply", "-f", file])
        #expect(reapplied.stdout.contains("tenant.minio.min.io/myminio configured"), "\(reapplied.stdout) \(reapplied.stderr)")
        let json = try serve.kubectl(["patch", "tenant", "myminio", "--type=json", "-p", #"[{"op":"replace","path":"/spec/pools/0/servers","value":2}]"#])
        #expect(json.status == 0, "\(json.stderr)")
        let fields = try serve.kubectl(["get", "tenant", "myminio", "-o", "jsonpath={.metadata.generation} {.spec.pools[0].servers} {.status.currentState}"])
        #expect(fields.stdout == "3 2 Initialized", "a status write leaves generation alone; two spec changes bump it: \(fields.stdout)")

        let strategic = try serve.kubectl(["patch", "tenant", "myminio", "--type=strategic", "-p", #"{"spec":{"subPath":"/x"}}"#])
        #expect(strategic.status == 1)
        #expect(strategic.stderr.contains("error: application/strategic-merge-patch+json is not supported by minio.min.io/v2, Kind=Tenant: "
                + "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json"),
                "\(strategic.stderr)")

        #expect(try serve.kubectl(["label", "tenant", "myminio", "tier=gold"]).status == 0)
        #expect(try serve.kubectl(["get", "tenants", "-l", "tier=gold", "-o", "name"]).stdout == "tenant.minio.min.io/myminio\n")
        #expect(try serve.kubectl(["get", "tenants", "-l", "tier=silver", "-o", "name"]).stdout == "")

        let deleted = try serve.kubectl(["delete", "crd", "tenants.minio.min.io"])
        #expect(deleted.status == 0, "\(deleted.stderr)")
        #expect(waitUntil { ((try? String(contentsOfFile: w.out, encoding: .utf8)) ?? "").contains("DELETED") },
                "the watch sees the Tenant go with its CRD: \((try? String(contentsOfFile: w.out, encoding: .utf8)) ?? "")")
        let gone = try serve.kubectl(["get", "tenants"])
        #expect(gone.status == 1)
        // kubectl's cached discovery still names the kind, so it asks, and the path is gone.
        #expect(gone.stderr.contains(#"Error from server (NotFound): Unable to list "minio.min.io/v2, Resource=tenants": the server could not find the requested resource"#),
                "\(gone.stderr)")
        let fresh = try serve.kubectl(["get", "tenants", "--cache-dir", serve.outDir + "/fresh-cache"])
        #expect(fresh.stderr.contains(#"the server doesn't have a resource type "tenants""#), "\(fresh.stderr)")
        #expect(try serve.kubectl(["apply", "-f", Self.examples + "/minio-tenant-crd.yaml"]).status == 0)
        let empty = try serve.kubectl(["get", "tenants", "-A"])
        #expect(empty.stderr.contains("No resources found"), "the Tenant did not come back with the CRD: \(empty.stdout) \(empty.stderr)")
    }

    @Test func aBadCRDGetsTheAPIServersFieldErrors() throws {
        let serve = try ServeRun()
        defer { serve.cleanup() }
        #expect(serve.ready(), "serve did not start: \(serve.stderr)")
        let file = serve.outDir + "/bad-crd.yaml"
        try """
            apiVersion: apiextensions.k8s.io/v1
            kind: CustomResourceDefinition
            metadata: {name: widgets.example.com}
            spec:
              group: example.com
              scope: Global
              names: {plural: gadgets, kind: Gadget}
              versions:
                - {name: v1, served: true, storage: false, schema: {openAPIV3Schema: {type: object}}}
                - {name: v2, served: true, storage: false}

            """.write(toFile: file, atomically: true, encoding: .utf8)
        let r = try serve.kubectl(["apply", "-f", file])
        #expect(r.status == 1)
        for line in [#"The CustomResourceDefinition "widgets.example.com" is invalid: "#,
                     #"* metadata.name: Invalid value: "widgets.example.com": must be spec.names.plural+"."+spec.group"#,
                     #"* spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced""#,
                     #"* spec.versions[1].schema.openAPIV3Schema: Required value: schemas are required"#,
                     "must have exactly one version marked as storage version"] {
            #expect(r.stderr.contains(line), "\(line) not in: \(r.stderr)")
        }
        #expect(try serve.kubectl(["get", "crd", "-o", "name"]).stdout == "", "nothing was stored")
    }

    /// The CRD's schema on every write, as the apiextensions-apiserver applies it: unknown fields
    /// refused under `--validate=strict`, pruned with a warning under `--validate=warn`, kept
    /// under `x-kubernetes-preserve-unknown-fields`; defaults filled in; type, enum, bound and
    /// required errors as kubectl prints a real cluster's.
    @Test func customObjectsArePrunedDefaultedAndValidatedByTheirSchema() throws {
        let serve = try ServeRun()
        defer { serve.cleanup() }
        #expect(serve.ready(), "serve did not start: \(serve.stderr)")
        func file(_ name: String, _ text: String) throws -> String {
            let path = serve.outDir + "/\(name).yaml"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let crd = try serve.kubectl(["apply", "-f", file("crd", """
            apiVersion: apiextensions.k8s.io/v1
            kind: CustomResourceDefinition
            metadata: {name: widgets.example.com}
            spec:
              group: example.com
              scope: Namespaced
              names: {plural: widgets, kind: Widget}
              versions:
                - name: v1
                  served: true
                  storage: true
                  schema:
                    openAPIV3Schema:
                      type: object
                      required: [spec]
                      properties:
                        spec:
                          type: object
                          required: [size]
                          properties:
                            size: {type: integer, minimum: 1, maximum: 10}
                            colour: {type: string, enum: [red, blue], default: red}
                            labels: {type: object, additionalProperties: {type: string}}
                            extra: {type: object, x-kubernetes-preserve-unknown-fields: true}

            """)])
        #expect(crd.status == 0, "\(crd.stderr)")
        func widget(_ name: String, _ spec: String) throws -> String {
            try file(name, "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: \(name)}\nspec: \(spec)\n")
        }

        let strict = try serve.kubectl(["apply", "-f", widget("strict", "{size: 2, shape: round}")])
        #expect(strict.status == 1)
        #expect(strict.stderr.contains(#"Widget in version "v1" cannot be handled as a Widget: strict decoding error: unknown field "spec.shape""#),
                "\(strict.stderr)")

        let warned = try serve.kubectl(["apply", "--validate=warn", "-f", widget("warned", "{size: 2, shape: round, extra: {any: [1]}, labels: {a: b}}")])
        #expect(warned.status == 0, "\(warned.stderr)")
        #expect(warned.stderr.contains(#"Warning: unknown field "spec.shape""#), "\(warned.stderr)")
        let stored = try serve.kubectl(["get", "widget", "warned", "-o", "jsonpath={.spec}"])
        #expect(try JSONSerialization.jsonObject(with: Data(stored.stdout.utf8)) as? NSDictionary
                == ["size": 2, "colour": "red", "extra": ["any": [1]], "labels": ["a": "b"]] as NSDictionary, "\(stored.stdout)")

        let invalid = try serve.kubectl(["apply", "-f", widget("invalid", #"{size: "2", colour: green, labels: {a: 1}}"#)])
        #expect(invalid.status == 1)
        for line in [#"The Widget "invalid" is invalid: "#,
                     #"* spec.colour: Unsupported value: "green": supported values: "red", "blue""#,
                     #"* spec.labels.a: Invalid value: 1: spec.labels.a in body must be of type string: "integer""#,
                     #"* spec.size: Invalid value: "2": spec.size in body must be of type integer: "string""#] {
            #expect(invalid.stderr.contains(line), "\(line) not in: \(invalid.stderr)")
        }
        let bounds = try serve.kubectl(["apply", "-f", widget("bounds", "{size: 11}")])
        #expect(bounds.stderr.contains(#"The Widget "bounds" is invalid: spec.size: Invalid value: 11: spec.size in body should be less than or equal to 10"#),
                "\(bounds.stderr)")
        let missing = try serve.kubectl(["apply", "-f", widget("missing", "{colour: blue}")])
        #expect(missing.stderr.contains(#"The Widget "missing" is invalid: spec.size: Required value"#), "\(missing.stderr)")
        #expect(try serve.kubectl(["get", "widgets", "-o", "name"]).stdout == "widget.example.com/warned\n")
    }
}
