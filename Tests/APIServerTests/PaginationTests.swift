import APIStore
import Foundation
import KubeAPI
import Testing
@testable import APIServer

@Suite struct PaginationTests {
    /// A fresh store in a temporary directory, removed afterwards.
    func withStore(retained: Int64 = 1000, _ body: (ObjectStore) throws -> Void) throws {
        let dir = NSTemporaryDirectory() + "pagination-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try body(try ObjectStore(path: dir + "/db.sqlite", retainedChanges: retained))
    }

    func add(_ store: ObjectStore, _ namespace: String, _ name: String, labels: [String: String] = [:]) throws {
        let meta: JSONValue = .object(["namespace": .string(namespace), "name": .string(name), "labels": .object(labels.mapValues(JSONValue.string))])
        _ = try store.create(ObjectKey(resource: "pods", namespace: namespace, name: name), .object(["metadata": meta]), trackGeneration: false)
    }

    func names(_ page: Pagination.Page) -> [String] {
        page.items.map { ($0["metadata"]?["namespace"]?.stringValue ?? "") + "/" + ($0["metadata"]?["name"]?.stringValue ?? "") }
    }

    func page(_ store: ObjectStore, _ query: [String: String], labels: String? = nil) throws -> Pagination.Page {
        try Pagination.page(store, resource: "pods", namespace: nil, query: query, selection: Selection(labels: try labels.map { try LabelQuery($0) }))
    }

    @Test func pagesFollowTheStoreOrderAndKeepTheFirstPagesRevision() throws {
        try withStore { store in
            // The store's order: namespace, then name ("a" before "a-b" even though "/" > "-").
            for (ns, name) in [("a", "x"), ("a", "y"), ("a-b", "a"), ("b", "z")] { try add(store, ns, name) }
            let first = try page(store, ["limit": "2"])
            #expect(names(first) == ["a/x", "a/y"])
            #expect(first.remaining == 2 && first.revision == 4)
            let token = try #require(first.continueToken)
            // Written meanwhile: the next page reads current objects after the token's key, at
            // the first page's revision; one before the key stays unseen.
            try add(store, "a", "yy")
            try add(store, "a", "w")
            let second = try page(store, ["limit": "2", "continue": token])
            #expect(names(second) == ["a/yy", "a-b/a"])
            #expect(second.revision == 4 && second.remaining == 1)
            let third = try page(store, ["limit": "2", "continue": try #require(second.continueToken)])
            #expect(names(third) == ["b/z"] && third.continueToken == nil && third.remaining == nil)
            // An exact fit leaves no token; no limit lists everything.
            #expect(try page(store, ["limit": "6"]).continueToken == nil)
            #expect(try page(store, [:]).items.count == 6)
        }
    }

    @Test func aSelectorPagesOverMatchesAndHidesTheCount() throws {
        try withStore { store in
            for i in 0..<6 { try add(store, "ns", "p\(i)", labels: ["even": i % 2 == 0 ? "yes" : "no"]) }
            let first = try page(store, ["limit": "2"], labels: "even=yes")
            #expect(names(first) == ["ns/p0", "ns/p2"])
            // The real server counts what is left only when no selector filtered the list.
            #expect(first.remaining == nil)
            let second = try page(store, ["limit": "2", "continue": try #require(first.continueToken)], labels: "even=yes")
            #expect(names(second) == ["ns/p4"] && second.continueToken == nil)
        }
    }

    @Test func theTokenHasTheRealLayout() throws {
        try withStore { store in
            for name in ["x", "y"] { try add(store, "a", name) }
            let token = try #require(try page(store, ["limit": "1"]).continueToken)
            let decoded = try JSONValue(parsing: try #require(Data(base64Encoded: token)))
            #expect(decoded == .object(["v": .string("meta.k8s.io/v1"), "rv": .int(2), "start": .string("a\u{1}x\u{0}")]))
        }
    }

    @Test func aContinueFromACompactedRevisionIsExpired() throws {
        try withStore(retained: 10) { store in
            for name in ["x", "y"] { try add(store, "a", name) }
            let token = try #require(try page(store, ["limit": "1"]).continueToken)
            // Revision 100 compacts the log through revision 90, the token's included.
            for i in 0..<98 { try add(store, "b", "p\(i)") }
            #expect(try store.compactedRevision() == 90)
            do {
                _ = try page(store, ["continue": token])
                Issue.record("a compacted continue token was accepted")
            } catch let error as APIError {
                #expect(error.code == 410 && error.reason == "Expired")
                #expect(error.message.hasPrefix("The provided continue parameter is too old to display a consistent list result."))
            }
            #expect(throws: APIError.self) { try page(store, ["continue": "not-base64!"]) }
        }
    }
}
