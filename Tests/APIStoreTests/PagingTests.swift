import Foundation
import KubeAPI
import Testing
@testable import APIStore

/// `ObjectStore.page`: the rows of one page in key order, read from the current objects.
@Suite struct PagingTests {
    func names(_ page: ListPage) -> [String] {
        page.items.map { ($0["metadata"]?["namespace"]?.stringValue ?? "") + "/" + ($0["metadata"]?["name"]?.stringValue ?? "") }
    }

    func put(_ store: ObjectStore, _ ns: String, _ name: String, resource: String = "pods") throws {
        _ = try store.create(ObjectKey(resource: resource, namespace: ns, name: name),
                             .object(["metadata": .object(["namespace": .string(ns), "name": .string(name)])]), trackGeneration: false)
    }

    @Test func limitAndStartOverAChangingStore() async throws {
        try await withStore { store, _ in
            for (ns, name) in [("b", "1"), ("a", "2"), ("a", "1"), ("a-b", "0")] { try put(store, ns, name) }
            try put(store, "a", "other-resource", resource: "secrets")
            let first = try store.page(resource: "pods", namespace: nil, from: nil, limit: 2)
            #expect(names(first) == ["a/1", "a/2"])
            #expect(first.more && first.remaining == 2 && first.revision == 5)

            // Between pages: one added after the cursor is seen, one before it is not, a
            // deleted one is gone, and the counts follow.
            try put(store, "a", "3")
            try put(store, "a", "0")
            _ = try store.delete(ObjectKey(resource: "pods", namespace: "a-b", name: "0"))
            let second = try store.page(resource: "pods", namespace: nil, from: "a\u{1}2\u{0}", limit: 2)
            #expect(names(second) == ["a/3", "b/1"])
            #expect(!second.more && second.remaining == 0 && second.revision == 8)

            // One namespace; no limit is the whole rest.
            #expect(names(try store.page(resource: "pods", namespace: "a", from: "a\u{1}1\u{0}", limit: nil)) == ["a/2", "a/3"])
            #expect(try store.page(resource: "pods", namespace: nil, from: nil, limit: nil).items.count == 5)
        }
    }

    @Test func aFilterStopsAtTheFirstMatchPastThePage() async throws {
        try await withStore { store, _ in
            for i in 0..<8 { try put(store, "ns", "p\(i)") }
            var seen: [String] = []
            let page = try store.page(resource: "pods", namespace: "ns", from: nil, limit: 2) { o in
                let name = o["metadata"]?["name"]?.stringValue ?? ""
                seen.append(name)
                return ["p1", "p4", "p6"].contains(name)
            }
            #expect(names(page) == ["ns/p1", "ns/p4"])
            #expect(page.more && page.remaining == nil)
            // Rows past the first match beyond the page are not read.
            #expect(seen == ["p0", "p1", "p2", "p3", "p4", "p5", "p6"])
            let last = try store.page(resource: "pods", namespace: "ns", from: "ns\u{1}p4\u{0}", limit: 2) { $0["metadata"]?["name"] == .string("p6") }
            #expect(names(last) == ["ns/p6"] && !last.more)
        }
    }
}
