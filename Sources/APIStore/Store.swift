import Foundation
import GRDB
import KubeAPI
import Synchronization

/// Where an object lives: its resource (`pods`, `deployments.apps`), namespace ("" for
/// cluster-scoped kinds) and name, the key etcd's registry builds as `/registry/RES/NS/NAME`.
public struct ObjectKey: Hashable, Sendable, CustomStringConvertible {
    public var resource: String
    public var namespace: String
    public var name: String

    public init(resource: String, namespace: String, name: String) {
        self.resource = resource
        self.namespace = namespace
        self.name = name
    }

    public var description: String { "\(resource)/\(namespace)/\(name)" }
}

/// A watch event's type, spelled as the API server's watch stream spells it.
public enum ChangeType: String, Sendable {
    case added = "ADDED"
    case modified = "MODIFIED"
    case deleted = "DELETED"
}

/// One write, as a watcher sees it: the object after the write (for a deletion, its last state
/// with the deletion's revision).
public struct Change: Sendable {
    public var revision: Int64
    public var type: ChangeType
    public var key: ObjectKey
    public var object: JSONValue
}

/// A page of a list (`ObjectStore.page`): its objects, whether more follow, how many (when
/// counted), and the revision it was read at.
public struct ListPage: Sendable {
    public var items: [JSONValue]
    public var more: Bool
    public var remaining: Int64?
    public var revision: Int64
}

/// Why a write or a watch was refused; the API server maps each to its Status.
public enum StoreError: Error, Equatable, Sendable {
    case notFound
    case alreadyExists
    /// The caller's resourceVersion precondition is not the stored one.
    case conflict
    /// A watch from a revision whose changes were compacted away (410 Gone, reason Expired).
    case expired(requested: Int64, oldest: Int64)
}

/// Kubernetes objects in SQLite the way k3s's kine keeps them: one row per object, JSON text,
/// and one global revision that is every object's `resourceVersion`. Each write appends to a
/// change log, from which a watch is answered from any revision it still holds; older ones are
/// compacted away and a watch from before them gets `expired` (the API server's 410).
///
/// Writes are serialised by GRDB's `DatabaseQueue`; a write's change is handed to the live
/// watchers inside the same serialised block, so every watcher sees changes in revision order
/// and registering a watch (replay plus subscription) cannot miss or repeat one.
public final class ObjectStore: Sendable {
    private struct Watcher {
        var resource: String
        var namespace: String?
        var continuation: AsyncStream<Change>.Continuation
    }

    private let db: DatabaseQueue
    private let watchers = Mutex<[UUID: Watcher]>([:])
    /// Objects as last decoded, with the revision of the row they came from: a list of 1000
    /// pods spent most of its time parsing JSON text it had parsed before. The API server's
    /// watch cache keeps every object decoded for the same reason. An entry is used only while
    /// its row still has that revision. Only reads fill it and a write drops its key, so a write
    /// whose transaction rolls back (and whose revision is then used again) leaves nothing behind.
    private let decoded = Mutex<[ObjectKey: (revision: Int64, object: JSONValue)]>([:])
    /// How many of the latest changes stay in the log (kine keeps at least 1000).
    private let retainedChanges: Int64

    /// Opens (or creates, mode 0600) the database at `path`.
    public init(path: String, retainedChanges: Int64 = 1000) throws {
        let dir = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: path) {
            // SQLite gives its -wal and -shm files the database file's mode.
            FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        var config = Configuration()
        config.busyMode = .timeout(30)
        // Write-ahead logging, as kine opens SQLite: a commit appends to the log and syncs it
        // once, where the rollback journal synced the journal, the database and the directory
        // (12-15 ms per object written on this machine's disk).
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA journal_mode = WAL") }
        db = try DatabaseQueue(path: path, configuration: config)
        self.retainedChanges = retainedChanges
        try db.write { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS objects (
                    resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
                    revision INTEGER NOT NULL, json TEXT NOT NULL,
                    PRIMARY KEY (resource, namespace, name));
                CREATE TABLE IF NOT EXISTS changes (
                    revision INTEGER PRIMARY KEY, type TEXT NOT NULL,
                    resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL, json TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
                INSERT OR IGNORE INTO counters VALUES ('revision', 0), ('compacted', 0);
                """)
        }
    }

    /// The current global revision: a list's `resourceVersion`.
    public func revision() throws -> Int64 {
        try db.read { db in try Self.counter(db, "revision") }
    }

    /// The newest revision compacted out of the change log: a watch or a paginated list
    /// (`continue`) from at or before it is answered 410 Expired.
    public func compactedRevision() throws -> Int64 {
        try db.read { db in try Self.counter(db, "compacted") }
    }

    public func get(_ key: ObjectKey) throws -> JSONValue? {
        try db.read { db in try fetch(db, key, remember: true) }
    }

    /// Every object of a resource (in one namespace, or all when `namespace` is nil), in
    /// namespace and name order, with the revision the list is consistent at.
    public func list(resource: String, namespace: String?) throws -> (items: [JSONValue], revision: Int64) {
        try db.read { db in
            let rows: RowCursor
            if let namespace {
                rows = try Row.fetchCursor(db, sql: "SELECT \(Self.objectColumns) FROM objects WHERE resource = ? AND namespace = ? ORDER BY name",
                                           arguments: [resource, namespace])
            } else {
                rows = try Row.fetchCursor(db, sql: "SELECT \(Self.objectColumns) FROM objects WHERE resource = ? ORDER BY namespace, name",
                                           arguments: [resource])
            }
            var items: [JSONValue] = []
            while let row = try rows.next() { items.append(try object(row, resource: resource)) }
            return (items, try Self.counter(db, "revision"))
        }
    }

    /// One page of a resource's objects (in one namespace, or all when `namespace` is nil), in
    /// the order `list` gives: those whose key — namespace, U+0001, name — sorts at or after
    /// `from`, at most `limit` of them (all when nil) that pass `matching`.
    ///
    /// Only the page's rows are read and parsed, so a `limit=500` page of a large list costs
    /// 500 objects, not all of them. Without `matching`, `remaining` counts the rows after the
    /// page (the list's `remainingItemCount`); with it, the rows after the page are scanned only
    /// until one matches, so `more` is known but `remaining` is nil. The revision is the one
    /// the page is consistent at.
    public func page(resource: String, namespace: String?, from: String?, limit: Int?,
                     matching: ((JSONValue) -> Bool)? = nil) throws -> ListPage {
        try db.read { db in
            var sql = "FROM objects WHERE resource = ?"
            var args: StatementArguments = [resource]
            if let namespace {
                sql += " AND namespace = ?"
                args += [namespace]
            }
            if let from {
                // SQLite compares text only up to a NUL, so a start of `key + "\0"` (a continue
                // token's) becomes "after key".
                let after = from.hasSuffix("\u{0}")
                sql += after ? " AND namespace || char(1) || name > ?" : " AND namespace || char(1) || name >= ?"
                args += [after ? String(from.dropLast()) : from]
            }
            let revision = try Self.counter(db, "revision")
            var items: [JSONValue] = []
            var more = false
            if let matching {
                let rows = try Row.fetchCursor(db, sql: "SELECT \(Self.objectColumns) " + sql + " ORDER BY namespace, name", arguments: args)
                while let row = try rows.next() {
                    let object = try object(row, resource: resource)
                    guard matching(object) else { continue }
                    if let limit, items.count == limit {
                        more = true
                        break
                    }
                    items.append(object)
                }
                return ListPage(items: items, more: more, remaining: nil, revision: revision)
            }
            let bounded = limit.map { " LIMIT \($0)" } ?? ""
            let rows = try Row.fetchCursor(db, sql: "SELECT \(Self.objectColumns) " + sql + " ORDER BY namespace, name" + bounded, arguments: args)
            while let row = try rows.next() { items.append(try object(row, resource: resource)) }
            var remaining: Int64 = 0
            if let limit, items.count == limit {
                remaining = try Int64.fetchOne(db, sql: "SELECT COUNT(*) " + sql, arguments: args).map { $0 - Int64(limit) } ?? 0
            }
            return ListPage(items: items, more: remaining > 0, remaining: remaining, revision: revision)
        }
    }

    /// Stores a new object. Sets what the API server sets on create: `uid`,
    /// `creationTimestamp` and `resourceVersion`; `generation` starts at 1 when the object has a
    /// `spec` (the kinds whose controllers report `observedGeneration`) and `trackGeneration`.
    public func create(_ key: ObjectKey, _ object: JSONValue, trackGeneration: Bool) throws -> JSONValue {
        try db.write { db in
            if try fetch(db, key, remember: false) != nil { throw StoreError.alreadyExists }
            var meta = object["metadata"] ?? .object([:])
            meta = meta.setting("uid", .string(UUID().uuidString.lowercased()))
            meta = meta.setting("creationTimestamp", .string(Timestamp.string(Date())))
            if trackGeneration { meta = meta.setting("generation", .int(1)) }
            let stored = object.setting("metadata", meta)
            return try self.write(db, key, stored, type: .added)
        }
    }

    /// Replaces an object with `transform(current)`, atomically. When `precondition` (a
    /// resourceVersion) is given and is not the stored one, nothing changes: `conflict`. The
    /// identity fields stay the stored ones (uid, creationTimestamp, generation), and
    /// `generation` goes up by one when the `spec` changed. A transform that changes nothing
    /// writes nothing (the API server's no-op update keeps the resourceVersion).
    public func update(_ key: ObjectKey, precondition: String? = nil, _ transform: (JSONValue) throws -> JSONValue) throws -> JSONValue {
        try db.write { db in
            guard let current = try fetch(db, key, remember: false) else { throw StoreError.notFound }
            let currentMeta = current["metadata"] ?? .object([:])
            if let precondition, !precondition.isEmpty, precondition != currentMeta["resourceVersion"]?.stringValue {
                throw StoreError.conflict
            }
            var next = try transform(current)
            var meta = next["metadata"] ?? .object([:])
            for field in ["uid", "creationTimestamp", "resourceVersion"] {
                meta = meta.setting(field, currentMeta[field])
            }
            if case .int(let generation)? = currentMeta["generation"] {
                meta = meta.setting("generation", .int(next["spec"] != current["spec"] ? generation + 1 : generation))
            }
            next = next.setting("metadata", meta)
            if next == current { return current }
            return try self.write(db, key, next, type: .modified)
        }
    }

    /// Removes an object; the DELETED event carries its last state at the deletion's revision.
    public func delete(_ key: ObjectKey, precondition: String? = nil) throws -> JSONValue {
        try db.write { db in
            guard let current = try fetch(db, key, remember: false) else { throw StoreError.notFound }
            if let precondition, !precondition.isEmpty, precondition != current["metadata"]?["resourceVersion"]?.stringValue {
                throw StoreError.conflict
            }
            return try self.write(db, key, current, type: .deleted)
        }
    }

    /// Every change to `resource` (in `namespace`, or all) after revision `from`: first those
    /// still in the log, then live ones, until the stream's consumer goes away.
    public func watch(resource: String, namespace: String?, from: Int64) throws -> AsyncStream<Change> {
        let (stream, continuation) = AsyncStream.makeStream(of: Change.self, bufferingPolicy: .unbounded)
        let id = UUID()
        try db.read { db in
            let compacted = try Self.counter(db, "compacted")
            if from < compacted { throw StoreError.expired(requested: from, oldest: compacted + 1) }
            var sql = "SELECT * FROM changes WHERE revision > ? AND resource = ?"
            var args: StatementArguments = [from, resource]
            if let namespace {
                sql += " AND namespace = ?"
                args += [namespace]
            }
            for row in try Row.fetchAll(db, sql: sql + " ORDER BY revision", arguments: args) {
                continuation.yield(Change(revision: row["revision"], type: ChangeType(rawValue: row["type"]) ?? .modified,
                                          key: ObjectKey(resource: row["resource"], namespace: row["namespace"], name: row["name"]),
                                          object: try Self.decode(row["json"])))
            }
            watchers.withLock { $0[id] = Watcher(resource: resource, namespace: namespace, continuation: continuation) }
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.watchers.withLock { $0.removeValue(forKey: id) }
        }
        return stream
    }

    /// Ends every watch (shutdown): their streams finish.
    public func closeWatches() {
        let all = watchers.withLock { w in
            defer { w.removeAll() }
            return Array(w.values)
        }
        for w in all { w.continuation.finish() }
    }

    // MARK: internals

    /// Writes one object at the next revision, logs the change, compacts the log now and then,
    /// and hands the change to the matching watchers.
    private func write(_ db: Database, _ key: ObjectKey, _ object: JSONValue, type: ChangeType) throws -> JSONValue {
        let revision = try Self.counter(db, "revision") + 1
        try db.execute(sql: "UPDATE counters SET value = ? WHERE name = 'revision'", arguments: [revision])
        let meta = (object["metadata"] ?? .object([:])).setting("resourceVersion", .string(String(revision)))
        let stored = object.setting("metadata", meta)
        let text = Self.encode(stored)
        decoded.withLock { _ = $0.removeValue(forKey: key) }
        if type == .deleted {
            try db.execute(sql: "DELETE FROM objects WHERE resource = ? AND namespace = ? AND name = ?",
                           arguments: [key.resource, key.namespace, key.name])
        } else {
            try db.execute(sql: "INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?)",
                           arguments: [key.resource, key.namespace, key.name, revision, text])
        }
        try db.execute(sql: "INSERT INTO changes VALUES (?, ?, ?, ?, ?, ?)",
                       arguments: [revision, type.rawValue, key.resource, key.namespace, key.name, text])
        if revision % 100 == 0, revision > retainedChanges {
            let through = revision - retainedChanges
            try db.execute(sql: "DELETE FROM changes WHERE revision <= ?", arguments: [through])
            try db.execute(sql: "UPDATE counters SET value = ? WHERE name = 'compacted'", arguments: [through])
        }
        let change = Change(revision: revision, type: type, key: key, object: stored)
        let targets = watchers.withLock { w in
            w.values.filter { $0.resource == key.resource && ($0.namespace == nil || $0.namespace == key.namespace) }.map(\.continuation)
        }
        for c in targets { c.yield(change) }
        return stored
    }

    private static func counter(_ db: Database, _ name: String) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT value FROM counters WHERE name = ?", arguments: [name]) ?? 0
    }

    private func fetch(_ db: Database, _ key: ObjectKey, remember: Bool) throws -> JSONValue? {
        guard let row = try Row.fetchOne(db, sql: "SELECT \(Self.objectColumns) FROM objects WHERE resource = ? AND namespace = ? AND name = ?",
                                         arguments: [key.resource, key.namespace, key.name]) else { return nil }
        return try object(row, resource: key.resource, remember: remember)
    }

    /// What `object(_:resource:)` reads from a row of `objects`.
    private static let objectColumns = "namespace, name, revision, json"

    /// The object of a row selected with `objectColumns`: the decoded one when its revision is
    /// the row's, otherwise the row's JSON, parsed (and remembered when read outside a write).
    private func object(_ row: Row, resource: String, remember: Bool = true) throws -> JSONValue {
        let key = ObjectKey(resource: resource, namespace: row[0], name: row[1])
        let revision: Int64 = row[2]
        if let hit = decoded.withLock({ $0[key] }), hit.revision == revision { return hit.object }
        let object = try Self.decode(row[3])
        if remember { decoded.withLock { $0[key] = (revision, object) } }
        return object
    }

    private static func decode(_ text: String) throws -> JSONValue {
        try JSONValue(parsing: text)
    }

    private static func encode(_ value: JSONValue) -> String { value.compactJSON() }
}

extension JSONValue {
    /// This object with `key` set (or removed, for nil); non-objects become objects.
    public func setting(_ key: String, _ value: JSONValue?) -> JSONValue {
        var o: [String: JSONValue] = [:]
        if case .object(let existing) = self { o = existing }
        o[key] = value
        return .object(o)
    }
}
