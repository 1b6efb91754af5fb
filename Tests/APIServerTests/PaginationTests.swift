import Foundation
import KubeAPI
import Testing
@testable import APIServer

@Suite struct PaginationTests {
    func objects(_ names: [(String, String)]) -> [JSONValue] {
        names.map { .object(["metadata": .object(["namespace": .string($0.0), "name": .string($0.1)])]) }
    }

    @Test func pagesFollowTheStoreOrderAndKeepTheFirstPagesRevision() throws {
        // The store's order: namespace, then name ("a" before "a-b" even though "/" > "-").
        let all = objects([("a", "x"), ("a", "y"), ("a-b", "a"), ("b", "z")])
        let first = try Pagination.page(all, revision: 40, query: ["limit": "2"], compacted: 0, filtered: false)
        #expect(first.items == Array(all.prefix(2)))
        #expect(first.remaining == 2)
        let token = try #require(first.continueToken)
        // Written meanwhile: the next page reads current objects after the token's key, at the first page's revision.
        let later = objects([("a", "x"), ("a", "y"), ("a", "yy"), ("a-b", "a"), ("b", "z")])
        let second = try Pagination.page(later, revision: 45, query: ["limit": "2", "continue": token], compacted: 0, filtered: false)
        #expect(second.items == Array(later[2...3]))
        #expect(second.revision == 40)
        let third = try Pagination.page(later, revision: 45, query: ["limit": "2", "continue": try #require(second.continueToken)], compacted: 0, filtered: false)
        #expect(third.items == [later[4]] && third.continueToken == nil)
        // A selector hides the count, as the real server does.
        #expect(try Pagination.page(all, revision: 40, query: ["limit": "1"], compacted: 0, filtered: true).remaining == nil)
    }

    @Test func aContinueFromACompactedRevisionIsExpired() throws {
        let all = objects([("a", "x"), ("a", "y")])
        let token = try #require(try Pagination.page(all, revision: 7, query: ["limit": "1"], compacted: 0, filtered: false).continueToken)
        #expect(throws: APIError.self) { try Pagination.page(all, revision: 2000, query: ["continue": token], compacted: 1000, filtered: false) }
        do {
            _ = try Pagination.page(all, revision: 2000, query: ["continue": token], compacted: 1000, filtered: false)
        } catch {
            #expect(error.code == 410 && error.reason == "Expired")
            #expect(error.message.hasPrefix("The provided continue parameter is too old to display a consistent list result."))
        }
        #expect(throws: APIError.self) { try Pagination.page(all, revision: 7, query: ["continue": "not-base64!"], compacted: 0, filtered: false) }
    }
}
