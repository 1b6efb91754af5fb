import Foundation
import Testing

@testable import KubeAPI

/// `JSONValue(parsing:)` reads what `JSONDecoder` reads, the same way.
@Suite struct JSONParserTests {
    static let samples = [
        #"{"a": 1, "b": [true, false, null], "c": {"d": "e"}, "f": -0, "g": 1.0, "h": 1e2, "i": 1.5, "j": 0.1e1}"#,
        #"{"big": 12345678901234567890, "neg": -9223372036854775808, "small": 2.5e-3, "exp": 1E+2}"#,
        #"["\"quoted\" \\ \/ \b\f\n\r\t", "\u00e9\u4e2d\ud83d\ude00", "plain é 中 😀", "", "\u0000x"]"#,
        "  {\n\t\"spaced\" :\r\n [ 1 , 2 ] }  ",
        #"{"nested": [[[[{"deep": [{}]}]]]], "emptyObject": {}, "emptyArray": []}"#,
    ]

    @Test(arguments: samples) func parsesAsJSONDecoderDoes(_ text: String) throws {
        let expected = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(try JSONValue(parsing: text) == expected)
    }

    @Test(arguments: SeedManifestTests.seeds) func seedObjectsRoundTrip(_ file: String) throws {
        let manifest = try String(contentsOfFile: "\(SeedManifestTests.seedDirectory)/\(file)", encoding: .utf8)
        for object in try Manifest.decode(manifest, source: file) {
            let text = String(decoding: try JSONEncoder().encode(try object.jsonValue()), as: UTF8.self)
            #expect(try JSONValue(parsing: text) == (try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))))
        }
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\" 1}", "tru", "\"abc", "01x", "1e", "-", "{\"a\":1}x", "1E400", "\"\\q\"", "\"a\u{01}b\""])
    func refusesWhatIsNotJSON(_ text: String) {
        #expect(throws: (any Error).self) { try JSONValue(parsing: text) }
    }
}
