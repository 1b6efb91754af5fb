import APIStore
import Foundation
import Hummingbird
import KubeAPI
import NIOCore

/// The request side of the API server: authentication, the URL space
/// (`/api/v1[/namespaces/NS]/RES[/NAME[/SUB]]` and the same under `/apis/G/V`), and one
/// function per verb. Every refusal is an `APIError`, written as a `metav1.Status`.
struct Handler: HTTPResponder {
    typealias Context = BasicRequestContext

    let registry: Registry
    let token: String
    let serverAddress: String
    let logs: LogReader

    func respond(to request: Request, context: Context) async throws -> Response {
        do {
            return try await route(request)
        } catch let e as APIError {
            return Self.json(e.status, status: e.code)
        } catch {
            let e = APIError(code: 500, reason: "InternalError", message: "Internal error occurred: \(error)")
            return Self.json(e.status, status: e.code)
        }
    }

    /// Anonymous access is allowed only where the real API server's `system:public-info-viewer`
    /// allows it: the version and the health endpoints.
    static let publicPaths: Set<String> = ["/version", "/healthz", "/livez", "/readyz"]

    func route(_ request: Request) async throws -> Response {
        let path = request.uri.path
        let user = registry.authenticate(request.headers[.authorization], adminToken: token)
        if user == nil, !Self.publicPaths.contains(path) { throw APIError.unauthorized }
        let query = Self.parseQuery(request.uri.query)
        let accept = request.headers[.accept] ?? ""
        let segments = path.split(separator: "/").map(String.init)
        switch path {
        case "/version": return Self.json(Discovery.version)
        case "/healthz", "/livez", "/readyz": return Self.text("ok")
        case "/api":
            return Discovery.wantsAggregated(accept)
                ? Self.json(Discovery.aggregated(core: true, resources: APIResource.served), contentType: Discovery.aggregatedType)
                : Self.json(Discovery.apiVersions(serverAddress: serverAddress))
        case "/apis":
            return Discovery.wantsAggregated(accept)
                ? Self.json(Discovery.aggregated(core: false, resources: registry.servedResources), contentType: Discovery.aggregatedType)
                : Self.json(Discovery.groupList(resources: registry.servedResources))
        case "/openapi/v3": return Self.json(Discovery.openAPIRoot(resources: registry.servedResources))
        case "/openapi/v2":
            guard accept.contains("protobuf") else { return Self.json(Discovery.openAPIv2JSON) }
            return Response(status: .ok, headers: [.contentType: "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: Discovery.openAPIv2Protobuf)))
        default: break
        }
        if segments.first == "openapi" {
            if segments.count > 2, segments[1] == "v3", 
               let doc = Discovery.openAPIDocument(path: segments.dropFirst(2).joined(separator: "/"), resources: registry.servedResources) {
                return Self.json(doc)
            }
            throw APIError.pathNotFound
        }
        // /api/v1/... or /apis/G/V/...
        let group: String, version: String, rest: ArraySlice<String>
        if segments.first == "api", segments.count >= 2 {
            (group, version, rest) = ("", segments[1], segments.dropFirst(2))
        } else if segments.first == "apis", segments.count >= 3 {
            (group, version, rest) = (segments[1], segments[2], segments.dropFirst(3))
        } else {
            throw APIError.pathNotFound
        }
        if rest.isEmpty {
            guard let list = Discovery.resourceList(group: group, version: version, resources: registry.servedResources) else { throw APIError.pathNotFound }
            return Self.json(list)
        }
        let parts = Array(rest)
        var namespace: String?
        var tail = parts
        if parts.count >= 3, parts[0] == "namespaces", let r = registry.resource(group: group, version: version, resource: parts[2]), r.namespaced {
            namespace = parts[1]
            tail = Array(parts.dropFirst(2))
        }
        guard let resource = registry.resource(group: group, version: version, resource: tail[0]), tail.count <= 3 else {
            throw APIError.pathNotFound
        }
        let name = tail.count > 1 ? tail[1] : nil
        let sub = tail.count > 2 ? tail[2] : nil
        if resource == .pods, name != nil, let sub, RemoteCommandRequest.subresources.contains(sub) {
            return try remoteCommandRefusal(request)
        }
        if resource == .pods, name != nil, sub == "portforward" { return try portForwardRefusal(request) }
        if let sub, !resource.subresources.contains(sub) { throw APIError.pathNotFound }
        if resource.namespaced, name != nil, namespace == nil { throw APIError.pathNotFound }
        if resource.isReview, let user {
            guard request.method == .post, name == nil else { throw APIError.methodNotAllowed }
            return Self.json(try Reviews.answer(resource, body: try await Self.body(request), user: user), status: 201)
        }
        let ns = namespace ?? ""
        let dryRun = query["dryRun"] == "All"

        switch (request.method, name, sub) {
        case (.get, nil, _):
            let selection = Selection(labels: try query["labelSelector"].map { s throws(APIError) in try LabelQuery(s) },
                                      fields: try query["fieldSelector"].map { s throws(APIError) in try FieldQuery(s, resource: resource) })
            if queryFlag(query["watch"]) {
                return try watch(resource, namespace: namespace, query: query, selection: selection, table: accept.contains("as=Table"))
            }
            var page = try Pagination.page(registry.store, resource: resource.qualifiedName, namespace: resource.namespaced ? namespace : nil,
                                           query: query, selection: selection)
            let table = accept.contains("as=Table")
            // A Table row carries only the object's metadata unless `includeObject=Object`.
            if !table || query["includeObject"] == "Object" {
                page.items = page.items.map { registry.withTypeMeta($0, resource) }
            }
            if table {
                let table = Tables.table(resource, items: page.items, revision: nil, includeObject: query["includeObject"])
                return Self.json(table.setting("metadata", Pagination.metadata(page)))
            }
            return Self.json(.object(["kind": .string(resource.kind + "List"), "apiVersion": .string(resource.apiVersion),
                                      "metadata": Pagination.metadata(page), "items": .array(page.items)]))
        case (let method, let name?, "eviction"?), (let method, let name?, "token"?):
            guard method == .post else { throw APIError.methodNotAllowed }
            let body = try await Self.body(request)
            return try Self.writing(query, status: 201) { () throws(APIError) in
                if sub == "eviction" { return try registry.evict(namespace: ns, name: name, body: body, dryRun: dryRun) }
                return try registry.requestToken(namespace: ns, serviceAccount: name, body: body)
            }
        case (_, let name?, "scale"?):
            return Self.json(try await scale(resource, namespace: ns, name: name, request: request, dryRun: dryRun))
        case (.get, let name?, "log"?):
            return try await logs.response(namespace: ns, pod: name, query: query, registry: registry)
        case (.get, let name?, _):
            let object = try registry.get(resource, namespace: ns, name: name)
            if accept.contains("as=Table") {
                return Self.json(Tables.table(resource, items: [object], revision: nil, includeObject: query["includeObject"]))
            }
            return Self.json(object)
        case (.post, nil, nil):
            let body = try await Self.body(request)
            return try Self.writing(query, status: 201) { () throws(APIError) in try registry.create(resource, namespace: ns, body: body, dryRun: dryRun) }
        case (.put, let name?, _):
            let body = try await Self.body(request)
            return try Self.writing(query) { () throws(APIError) in
                try registry.update(resource, namespace: ns, name: name, body: body, subresource: sub, dryRun: dryRun)
            }
        case (.patch, let name?, _):
            let contentType = request.headers[.contentType] ?? ""
            // Custom objects have no strategic merge patch (no Go struct tags): 415, as on a real server.
            guard let type = PatchType(contentType: contentType), type != .strategic || resource.custom == nil else {
                throw APIError.unsupportedMediaType(contentType, accepted: resource.custom == nil ? PatchType.accepted : PatchType.acceptedForCustom)
            }
            let body = try await Self.body(request, allowArray: type == .json)
            return try Self.writing(query) { () throws(APIError) in
                try registry.patch(resource, namespace: ns, name: name, type: type, patch: body, subresource: sub, dryRun: dryRun)
            }
        case (.delete, let name?, nil):
            var options = JSONValue.object([:])
            if let text = try? await Self.bodyText(request), !text.isEmpty {
                options = (try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))) ?? .object([:])
            }
            var grace: Int64?
            if case .int(let g)? = options["gracePeriodSeconds"] { grace = g }
            if let g = query["gracePeriodSeconds"].flatMap(Int64.init) { grace = g }
            let policy = options["propagationPolicy"]?.stringValue ?? query["propagationPolicy"]
            let dry = dryRun || options["dryRun"]?.arrayValue?.contains(.string("All")) == true
            return Self.json(try registry.delete(resource, namespace: ns, name: name, gracePeriod: grace, propagation: policy, dryRun: dry))
        default:
            throw APIError.methodNotAllowed
        }
    }

    // MARK: scale

    /// The `scale` subresource (`kubectl scale`): an `autoscaling/v1` Scale read from and written
    /// to the workload's `spec.replicas`.
    func scale(_ r: APIResource, namespace: String, name: String, request: Request, dryRun: Bool) async throws -> JSONValue {
        var object = try registry.get(r, namespace: namespace, name: name)
        if request.method == .patch || request.method == .put {
            let body = try await Self.body(request, allowArray: true)
            let current = Self.scaleObject(object)
            let next: JSONValue
            switch request.method == .put ? .merge : PatchType(contentType: request.headers[.contentType] ?? "") {
            case .merge?: next = Patch.mergePatch(current, body)
            case .strategic?: next = try Patch.strategicMerge(current, body)
            case .json?: next = try Patch.jsonPatch(current, body)
            case nil: throw APIError.unsupportedMediaType(request.headers[.contentType] ?? "", accepted: PatchType.accepted)
            }
            guard case .int(let replicas)? = next["spec"]?["replicas"], replicas >= 0 else {
                throw APIError.invalid(r, name, [.invalid("spec.replicas", "\(next["spec"]?["replicas"] ?? .null)", "must be greater than or equal to 0")])
            }
            object = try registry.patch(r, namespace: namespace, name: name, type: .merge,
                                        patch: .object(["spec": .object(["replicas": .int(replicas)])]), dryRun: dryRun)
        }
        return Self.scaleObject(object)
    }

    static func scaleObject(_ o: JSONValue) -> JSONValue {
        let meta = o["metadata"]?.objectValue ?? [:]
        let selector = (o["spec"]?["selector"]?["matchLabels"]?.objectValue ?? [:]).sorted { $0.key < $1.key }
            .map { "\($0.key)=\($0.value.stringValue ?? "")" }.joined(separator: ",")
        return .object([
            "kind": .string("Scale"), "apiVersion": .string("autoscaling/v1"),
            "metadata": .object(meta.filter { ["name", "namespace", "uid", "resourceVersion", "creationTimestamp"].contains($0.key) }),
            "spec": .object(["replicas": o["spec"]?["replicas"] ?? .int(1)]),
            "status": .object(["replicas": o["status"]?["replicas"] ?? .int(0), "selector": .string(selector)]),
        ])
    }

    // MARK: watch

    /// A chunked stream of `{"type":…,"object":…}` lines: from `resourceVersion` (or, without
    /// one, ADDED for every current object first), until `timeoutSeconds` (default 30 min), the
    /// client goes away, or the server stops. A too-old version gets one ERROR event, 410 Expired.
    func watch(_ r: APIResource, namespace: String?, query: [String: String], selection: Selection, table: Bool) throws(APIError) -> Response {
        var initial: [JSONValue] = []
        var from: Int64
        let rv = query["resourceVersion"] ?? ""
        if rv.isEmpty || rv == "0" {
            let (items, revision) = try registry.list(r, namespace: namespace)
            initial = items.filter(selection.matches)
            from = revision
        } else {
            guard let n = Int64(rv) else { throw .badRequest("invalid resource version: \(rv)") }
            from = n
        }
        let store = registry.store
        let changes: AsyncStream<Change>
        do {
            changes = try store.watch(resource: r.qualifiedName, namespace: r.namespaced ? namespace : nil, from: from)
        } catch let StoreError.expired(requested, oldest) {
            let event = Self.eventLine(type: "ERROR", object: APIError.expired("too old resource version: \(requested) (\(oldest))").status)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: event)))
        } catch {
            throw APIError(code: 500, reason: "InternalError", message: "Internal error occurred: \(error)")
        }
        let timeout = Duration.seconds(query["timeoutSeconds"].flatMap(Int64.init) ?? 1800)
        let bookmarks = queryFlag(query["allowWatchBookmarks"])
        let registry = self.registry
        let firstEvents = initial
        let watchedFrom = from
        // Which objects the watcher holds as matching, for the cacher's rule below: the initial
        // ADDED set, or (watching on from a resourceVersion) what matches now.
        let initiallyHeld = Set((rv.isEmpty || rv == "0" ? initial : ((try? registry.list(r, namespace: namespace).items) ?? []).filter(selection.matches))
            .map(Self.objectKey))
        let body = ResponseBody { writer in
            // The store's stream, the bookmark clock and the timeout feed one relay, so the
            // writer stays in this task.
            let (relay, feed) = AsyncStream.makeStream(of: WatchItem.self)
            let forward = Task {
                for await c in changes { feed.yield(.change(c)) }
                feed.finish()
            }
            let timer = Task {
                try? await Task.sleep(for: timeout)
                feed.finish()
            }
            let bookmarker = bookmarks ? Task { await WatchItem.bookmarkClock(timeout: timeout, feed: feed) } : nil
            defer {
                forward.cancel()
                timer.cancel()
                bookmarker?.cancel()
            }
            var first = true
            func send(_ type: String, _ object: JSONValue) async throws {
                let typed = registry.withTypeMeta(object, r)
                let payload = table ? Tables.table(r, items: [typed], revision: nil, includeObject: query["includeObject"], withColumns: first) : typed
                first = false
                try await writer.write(ByteBuffer(string: Self.eventLine(type: type, object: payload)))
            }
            for object in firstEvents { try await send("ADDED", object) }
            var seen = watchedFrom
            var held = initiallyHeld
            for await item in relay {
                switch item {
                case .change(let change):
                    seen = max(seen, change.revision)
                    // The watch cache's filtering (`cacheWatcher.convertToWatchEvent`): an object
                    // that starts matching the selector is ADDED, one that stops is DELETED.
                    let key = Self.objectKey(change.object)
                    let was = held.contains(key)
                    let now = change.type != .deleted && selection.matches(change.object)
                    if now { held.insert(key) } else { held.remove(key) }
                    switch (was, now) {
                    case (true, true): try await send(change.type.rawValue, change.object)
                    case (false, true): try await send("ADDED", change.object)
                    case (true, false): try await send("DELETED", change.object)
                    case (false, false):
                        if change.type == .deleted, selection.matches(change.object) { try await send("DELETED", change.object) }
                    }
                case .bookmark:
                    try await writer.write(ByteBuffer(string: Self.eventLine(type: "BOOKMARK", object: WatchItem.bookmark(r, revision: seen))))
                }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: table ? "application/json;as=Table;v=v1;g=meta.k8s.io" : "application/json"], body: body)
    }

    static func objectKey(_ o: JSONValue) -> String {
        "\(o["metadata"]?["namespace"]?.stringValue ?? "")/\(o["metadata"]?["name"]?.stringValue ?? "")"
    }

    static func eventLine(type: String, object: JSONValue) -> String {
        encode(.object(["type": .string(type), "object": object])) + "\n"
    }

    // MARK: helpers

    static func parseQuery(_ query: String?) -> [String: String] {
        var out: [String: String] = [:]
        for pair in (query ?? "").split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0) }
            if let k = kv.first { out[k] = kv.count > 1 ? kv[1] : "" }
        }
        return out
    }

    static func bodyText(_ request: Request) async throws -> String {
        var r = request
        let buffer = try await r.collectBody(upTo: 32 << 20)
        return String(buffer: buffer)
    }

    static func body(_ request: Request, allowArray: Bool = false) async throws -> JSONValue {
        let contentType = request.headers[.contentType] ?? "application/json"
        if contentType.contains("protobuf") {
            var r = request
            let buffer = try await r.collectBody(upTo: 32 << 20)
            return try Protobuf.decode(Array(buffer.readableBytesView))
        }
        let text = try await bodyText(request)
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else {
            throw APIError.badRequest("couldn't get version/kind; json parse error: invalid JSON in the request body")
        }
        if case .object = value { return value }
        if allowArray, case .array = value { return value }
        throw APIError.badRequest("the body of the request was not a JSON object")
    }

    static func encode(_ value: JSONValue) -> String { value.compactJSON() }

    /// A create, update or patch under the request's `fieldValidation`, answered with the
    /// object and the `Warning` headers admission left.
    static func writing(_ query: [String: String], status: Int = 200, _ write: () throws(APIError) -> JSONValue) throws(APIError) -> Response {
        let validation = try FieldValidation(query: query["fieldValidation"])
        let warnings = Warnings()
        let object: JSONValue
        do {
            object = try FieldValidation.$current.withValue(validation) {
                try FieldValidation.$warnings.withValue(warnings) { try write() }
            }
        } catch let e as APIError {
            throw e
        } catch {
            throw APIError(code: 500, reason: "InternalError", message: "Internal error occurred: \(error)")
        }
        var response = json(object, status: status)
        for field in warnings.fields() { response.headers.append(field) }
        return response
    }

    static func json(_ value: JSONValue, status: Int = 200, contentType: String = "application/json") -> Response {
        Response(status: HTTPResponse.Status(code: status), headers: [.contentType: contentType],
                 body: ResponseBody(byteBuffer: ByteBuffer(bytes: value.compactJSONBytes())))
    }

    static func text(_ s: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: s)))
    }
}
