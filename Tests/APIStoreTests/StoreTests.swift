import Foundation
import KubeAPI
import Testing
@testable import APIStore

/// A fresh store in a temporary directory, removed afterwards.
func withStore(retained: Int64 = 1000, _ body: (ObjectStore, String) async throws -> Void) async throws {
    let dir = NSTemporaryDirectory() + "apistore-\(UUID().uuidString.prefix(8))"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let store = try ObjectStore(path: dir + "/db.sqlite", retainedChanges: retained)
    try await body(store, dir + "/db.sqlite")
}

func object(_ name: String, spec: JSONValue = .object([:])) -> JSONValue {
    .object(["metadata": .object(["name": .string(name)]), "spec": spec])
}

func podKey(_ name: String) -> ObjectKey { ObjectKey(resource: "pods", namespace: "default", name: name) }

@Test func createSetsTheServerOwnedFieldsAndRefusesADuplicate() async throws {
    try await withStore { store, path in
        let created = try store.create(podKey("a"), object("a"), trackGeneration: true)
        #expect(created["metadata"]?["uid"]?.stringValue?.count == 36)
        #expect(created["metadata"]?["creationTimestamp"]?.stringValue != nil)
        #expect(created["metadata"]?["resourceVersion"]?.stringValue == "1")
        #expect(created["metadata"]?["generation"] == .int(1))
        #expect(throws: StoreError.alreadyExists) { try store.create(podKey("a"), object("a"), trackGeneration: true) }
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }
}

@Test func aStaleResourceVersionIsAConflictAndGenerationFollowsTheSpec() async throws {
    try await withStore { store, _ in
        _ = try store.create(podKey("a"), object("a"), trackGeneration: true)
        let labelled = try store.update(podKey("a"), precondition: "1") { $0.setting("metadata", ($0["metadata"] ?? .null).setting("labels", .object(["x": .string("y")]))) }
        #expect(labelled["metadata"]?["resourceVersion"]?.stringValue == "2")
        #expect(labelled["metadata"]?["generation"] == .int(1))
        #expect(throws: StoreError.conflict) { try store.update(podKey("a"), precondition: "1") { $0 } }
        let respec = try store.update(podKey("a")) { $0.setting("spec", .object(["replicas": .int(2)])) }
        #expect(respec["metadata"]?["generation"] == .int(2))
        // A write that changes nothing keeps the resourceVersion.
        let same = try store.update(podKey("a")) { $0 }
        #expect(same["metadata"]?["resourceVersion"] == respec["metadata"]?["resourceVersion"])
        #expect(try store.revision() == 3)
    }
}

@Test func aWatchReplaysTheLogThenFollowsLiveChanges() async throws {
    try await withStore { store, _ in
        _ = try store.create(podKey("a"), object("a"), trackGeneration: false)
        _ = try store.create(ObjectKey(resource: "secrets", namespace: "default", name: "s"), object("s"), trackGeneration: false)
        _ = try store.create(podKey("b"), object("b"), trackGeneration: false)
        var events = try store.watch(resource: "pods", namespace: "default", from: 1).makeAsyncIterator()
        let replayed = await events.next()
        #expect(replayed?.type == .added && replayed?.key.name == "b" && replayed?.revision == 3)
        _ = try store.delete(podKey("a"))
        let deleted = await events.next()
        #expect(deleted?.type == .deleted && deleted?.key.name == "a" && deleted?.revision == 4)
        #expect(deleted?.object["metadata"]?["resourceVersion"]?.stringValue == "4")
        #expect(try store.get(podKey("a")) == nil)
        #expect(throws: StoreError.notFound) { try store.delete(podKey("a")) }
    }
}

@Test func aWatchFromACompactedRevisionHasExpired() async throws {
    try await withStore(retained: 10) { store, _ in
        _ = try store.create(podKey("a"), object("a"), trackGeneration: false)
        for i in 0..<99 { _ = try store.update(podKey("a")) { $0.setting("data", .int(Int64(i))) } }
        #expect(try store.revision() == 100)
        #expect(throws: StoreError.expired(requested: 5, oldest: 91)) { _ = try store.watch(resource: "pods", namespace: nil, from: 5) }
        var events = try store.watch(resource: "pods", namespace: nil, from: 95).makeAsyncIterator()
        #expect(await events.next()?.revision == 96)
    }
}

@Test func objectsAndTheRevisionSurviveAReopen() async throws {
    try await withStore { store, path in
        _ = try store.create(podKey("a"), object("a"), trackGeneration: false)
        _ = try store.create(podKey("b"), object("b"), trackGeneration: false)
        let reopened = try ObjectStore(path: path)
        let (items, revision) = try reopened.list(resource: "pods", namespace: nil)
        #expect(items.compactMap { $0["metadata"]?["name"]?.stringValue } == ["a", "b"])
        #expect(revision == 2)
        let next = try reopened.create(podKey("c"), object("c"), trackGeneration: false)
        #expect(next["metadata"]?["resourceVersion"]?.stringValue == "3")
    }
}
