import APIStore
import Foundation
import KubeAPI

/// `limit` and `continue` on lists, as the API server pages a list out of etcd: items in key
/// order (namespace, then name), at most `limit` per page, and a continue token — base64 JSON
/// `{"v":"meta.k8s.io/v1","rv":N,"start":"…\u0000"}`, the real token's layout — naming
/// the revision of the first page and the key after which the next one starts. Tandem keeps no
/// old snapshots, so later pages are read from the current objects (still after `start`) and
/// keep the first page's resourceVersion; a token whose revision has been compacted away is
/// refused 410 Expired, as etcd's compaction makes the real server do.
///
/// The store reads only the page's rows (`ObjectStore.page`), as etcd's range read with a limit
/// does: the second page of `kubectl get pods` (`limit=500`) over 1000 pods parses 500 objects,
/// not 1000.
enum Pagination {
    struct Page {
        var items: [JSONValue]
        var revision: Int64
        var continueToken: String?
        var remaining: Int64?
    }

    /// The page `query` asks for of `resource`'s objects (in `namespace`, or all) that match
    /// `selection`.
    static func page(_ store: ObjectStore, resource: String, namespace: String?, query: [String: String], selection: Selection) throws(APIError) -> Page {
        var from: String?
        var tokenRV: Int64?
        if let token = query["continue"], !token.isEmpty {
            guard let data = Data(base64Encoded: token), let decoded = try? JSONValue(parsing: data),
                  case .int(let rv)? = decoded["rv"], let start = decoded["start"]?.stringValue else {
                throw .badRequest("continue key is not valid: illegal base64 data")
            }
            if rv <= (try? store.compactedRevision()) ?? 0 {
                throw .expired("The provided continue parameter is too old to display a consistent list result. You can start a new list "
                    + "without the continue parameter, or use the continue token in this response to retrieve the remainder of the "
                    + "results. Continuing with the provided token results in an inconsistent list - objects that were created, "
                    + "modified, or deleted between the time the first chunk was returned and now may show up in the list.")
            }
            (from, tokenRV) = (start, rv)
        }
        let limit = query["limit"].flatMap(Int.init).flatMap { $0 > 0 ? $0 : nil }
        let filtered = selection.labels != nil || selection.fields != nil
        let matching: ((JSONValue) -> Bool)? = filtered ? { selection.matches($0) } : nil
        let listed: ListPage
        do {
            listed = try store.page(resource: resource, namespace: namespace, from: from, limit: limit, matching: matching)
        } catch {
            throw APIError(code: 500, reason: "InternalError", message: "Internal error occurred: \(error)")
        }
        let rv = tokenRV ?? listed.revision
        guard listed.more, let last = listed.items.last else {
            return Page(items: listed.items, revision: rv, continueToken: nil, remaining: nil)
        }
        let token = JSONValue.object(["v": .string("meta.k8s.io/v1"), "rv": .int(rv), "start": .string(key(last) + "\u{0}")])
        // The real server counts what is left only when no selector filtered the list.
        return Page(items: listed.items, revision: rv, continueToken: Data(token.compactJSON().utf8).base64EncodedString(),
                    remaining: listed.remaining)
    }

    /// The object's place in the store's order (namespace, then name): the separator sorts
    /// below every character a name may have, so string order is that order.
    static func key(_ o: JSONValue) -> String {
        (o["metadata"]?["namespace"]?.stringValue ?? "") + "\u{1}" + (o["metadata"]?["name"]?.stringValue ?? "")
    }

    /// The list's (or Table's) metadata with the page's resourceVersion, continue token and count.
    static func metadata(_ page: Page) -> JSONValue {
        var meta: [String: JSONValue] = ["resourceVersion": .string(String(page.revision))]
        if let token = page.continueToken { meta["continue"] = .string(token) }
        if let remaining = page.remaining { meta["remainingItemCount"] = .int(remaining) }
        return .object(meta)
    }
}

/// A boolean query parameter as the API server's conversion reads it (`strconv.ParseBool`):
/// the Python client sends `watch=True`, `follow=True`.
func queryFlag(_ value: String?) -> Bool {
    ["1", "t", "T", "true", "TRUE", "True"].contains(value ?? "")
}

/// What a watch stream writes next: a change, or a bookmark (`allowWatchBookmarks=true`).
enum WatchItem: Sendable {
    case change(Change)
    case bookmark

    /// The watch cache's bookmark timing (`nextBookmarkTime`): every minute, and one 2 s before
    /// the watch's deadline so a client can resume from the newest revision.
    static func bookmarkClock(timeout: Duration, feed: AsyncStream<WatchItem>.Continuation) async {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while !Task.isCancelled {
            let next = min(clock.now + .seconds(60), deadline - .seconds(2))
            if next < clock.now { return }
            do { try await clock.sleep(until: next) } catch { return }
            feed.yield(.bookmark)
            if next == deadline - .seconds(2) { return }
        }
    }

    /// A BOOKMARK event's object: the kind with only `metadata.resourceVersion`, the newest
    /// revision this watch has passed (every change up to it has been sent or filtered out).
    static func bookmark(_ r: APIResource, revision: Int64) -> JSONValue {
        .object(["kind": .string(r.kind), "apiVersion": .string(r.apiVersion),
                 "metadata": .object(["resourceVersion": .string(String(revision)), "creationTimestamp": .null])])
    }
}
