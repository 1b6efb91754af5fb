import Foundation
import KubeAPI
import Testing
@testable import APIServer

/// The CRD's pure parts: validation, the status the controllers write, the resources a CRD
/// serves and the printer columns' JSONPath cells.
struct CustomResourceTests {
    static let crd = """
        {"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"tenants.minio.min.io"},
         "spec":{"group":"minio.min.io","scope":"Namespaced","names":{"plural":"tenants","kind":"Tenant","shortNames":["tenant"]},
          "versions":[
            {"name":"v2","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object"}},"subresources":{"status":{}},
             "additionalPrinterColumns":[{"name":"State","type":"string","jsonPath":".status.currentState"},
                                         {"name":"Servers","type":"integer","jsonPath":".spec.pools[0].servers"},
                                         {"name":"Pools","type":"string","jsonPath":".spec.pools[*].name","priority":1}]},
            {"name":"v1","served":true,"storage":false,"schema":{"openAPIV3Schema":{"type":"object"}}},
            {"name":"v0","served":false,"storage":false,"schema":{"openAPIV3Schema":{"type":"object"}}}]}}
        """

    @Test func aValidCRDIsDefaultedAndServesEachServedVersion() throws {
        let crd = CustomResources.defaulted(try json(Self.crd))
        #expect(CustomResources.validate(crd).isEmpty)
        #expect(crd["spec"]?["names"]?["singular"] == .string("tenant"))
        #expect(crd["spec"]?["names"]?["listKind"] == .string("TenantList"))
        let rs = CustomResources.resources(of: crd)
        #expect(rs.map(\.apiVersion) == ["minio.min.io/v2", "minio.min.io/v1"], "v0 is not served")
        let order = ["v1alpha1", "foo", "v1", "v2beta1", "v10", "v1beta2", "bar", "v2", "v1beta1", "v11alpha2"]
            .sorted(by: CustomResources.kubeAwareOrder)
        #expect(order == ["v10", "v2", "v1", "v2beta1", "v1beta2", "v1beta1", "v11alpha2", "v1alpha1", "bar", "foo"])
        #expect(rs.map(\.qualifiedName) == ["tenants.minio.min.io", "tenants.minio.min.io"], "every version is one stored resource")
        #expect(rs[0].subresources == ["status"] && rs[1].subresources.isEmpty)
        #expect(rs[0].namespaced && rs[0].shortNames == ["tenant"] && rs[0].tracksGeneration)
        #expect(rs[0].custom?.columns.map(\.name) == ["State", "Servers", "Pools"])
        #expect(rs[1].custom?.columns.map(\.jsonPath) == [".metadata.creationTimestamp"], "no columns: Age")
    }

    @Test func validationNamesTheFieldsAsTheAPIServerDoes() throws {
        let bad = try json("""
            {"metadata":{"name":"widgets.example.com"},
             "spec":{"group":"example","scope":"Global","names":{"plural":"Gadgets","kind":"Gadget","listKind":"Gadget"},
              "versions":[{"name":"v1","served":false,"storage":false},{"name":"v1","served":false,"storage":false,"schema":{"openAPIV3Schema":{}}}]}}
            """)
        let errors = CustomResources.validate(CustomResources.defaulted(bad)).map(\.description)
        #expect(errors == [
            #"metadata.name: Invalid value: "widgets.example.com": must be spec.names.plural+"."+spec.group"#,
            #"spec.group: Invalid value: "example": should be a domain with at least one dot"#,
            #"spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced""#,
            #"spec.names.plural: Invalid value: "Gadgets": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"#,
            #"spec.names.listKind: Invalid value: "Gadget": kind and listKind may not be the same"#,
            #"spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required"#,
            #"spec.versions: Invalid value: ["v1" "v1"]: must contain unique version names"#,
            #"spec.versions: Invalid value: ["v1" "v1"]: must have exactly one version marked as storage version"#,
            #"spec.versions: Invalid value: ["v1" "v1"]: must have at least one version marked as served"#,
        ])
        #expect(CustomResources.validate(try json(#"{"metadata":{"name":"x.y.z"},"spec":{}}"#)).map(\.description).contains("spec.group: Required value"))
    }

    @Test func theStatusKeepsItsTransitionTimesAndStoredVersions() throws {
        let crd = CustomResources.defaulted(try json(Self.crd))
        let first = CustomResources.status(of: crd, now: Date(timeIntervalSince1970: 0))
        #expect(first["acceptedNames"]?["listKind"] == .string("TenantList"))
        #expect(first["storedVersions"] == .array([.string("v2")]))
        let conditions = first["conditions"]?.arrayValue ?? []
        #expect(conditions.map { $0["type"]?.stringValue } == ["NamesAccepted", "Established"])
        #expect(conditions.allSatisfy { $0["status"] == .string("True") && $0["lastTransitionTime"] == .string("1970-01-01T00:00:00Z") })
        let later = CustomResources.status(of: crd.setting("status", first), now: Date(timeIntervalSince1970: 3600))
        #expect(later == first, "nothing changed: the same status, so no write")
    }

    @Test func printerColumnsTakeTheFirstJSONPathResult() throws {
        let r = CustomResources.resources(of: CustomResources.defaulted(try json(Self.crd)))[0]
        let tenant = try json("""
            {"metadata":{"name":"myminio","creationTimestamp":"2026-01-01T00:00:00Z","labels":{"app.kubernetes.io/name":"x"}},
             "spec":{"pools":[{"name":"a","servers":4},{"name":"b","servers":2}]}}
            """)
        let cells = CustomResources.cells(r.custom!, tenant, now: Date())
        #expect(cells == [.string("myminio"), .null, .int(4), .string("a")])
        #expect(JSONPathQuery(".spec.pools[*].servers")?.results(in: tenant) == [.int(4), .int(2)])
        #expect(JSONPathQuery(".spec.pools[-1].name")?.first(in: tenant) == .string("b"))
        #expect(JSONPathQuery(".metadata.labels['app.kubernetes.io/name']")?.first(in: tenant) == .string("x"))
        #expect(JSONPathQuery("spec") == nil && JSONPathQuery(".a[") == nil)
        let age = CustomResources.resources(of: CustomResources.defaulted(try json(Self.crd)))[1]
        #expect(CustomResources.cells(age.custom!, tenant, now: Timestamp.date("2026-01-01T00:01:30Z")!) == [.string("myminio"), .string("90s")])
    }
}
