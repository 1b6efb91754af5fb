import Testing
@testable import ConfigSidecar

struct EnvFileTests {
    func values(_ text: String) throws -> [String: String] {
        try EnvFile.parse(text, source: "config.env").mapValues(\.value)
    }

    /// MinIO's `TestParseConfEnvSecret` cases, and its trimming rules.
    @Test func parsesLikeMinIO() throws {
        let expected = ["MINIO_ROOT_USER": "minio", "MINIO_ROOT_PASSWORD": "minio123", "MINIO_STORAGE_CLASS_STANDARD": "EC:2", "MINIO_BROWSER": "on"]
        #expect(try values(TenantConfigTests.seed) == expected)
        #expect(try values(TenantConfigTests.seed.split(separator: "\n").map { "\t" + $0 }.joined(separator: "\n")) == expected)
        #expect(try values("export A=\"\"x\"\"\r\nexport  B = 'y' \n# export C=z\nD=w\nexport E=a=b\n") == ["A": "x", "B": "'y'", "E": "a=b"])
        #expect(try values("export A=1\nexport A=2\n") == ["A": "2"])
        #expect(try values("") == [:])
    }

    @Test func malformedExportLinesAreErrorsNamingTheLine() {
        #expect(throws: SourceError("config.env:2: malformed line, expected export KEY=\"VALUE\": export NOVALUE")) {
            try EnvFile.parse("export A=1\nexport NOVALUE\n", source: "config.env")
        }
        #expect(throws: SourceError("config.env:1: invalid variable name \"\"")) {
            try EnvFile.parse("export =1\n", source: "config.env")
        }
        #expect(throws: SourceError("config.env:1: invalid variable name \"A B\"")) {
            try EnvFile.parse("export A B=1\n", source: "config.env")
        }
    }

    /// Plain values are MinIO's bytes; a `"` can neither end the value early for MinIO's reader
    /// nor for a shell.
    @Test func rendersMinIOsFormatAndQuotesWhatWouldCorruptIt() throws {
        #expect(try EnvFile.render([("A", "on"), ("B", "")]) == "export A=\"on\"\nexport B=\"\"\n")
        #expect(try EnvFile.render([("P", "pa\"ss$word")]) == "export P='pa\"ss$word'\n")
        #expect(try EnvFile.render([("P", "it's \"x\" \\ `y` $z")]) == "export P=\"it's \\\"x\\\" \\\\ \\`y\\` \\$z\"\n")
    }

    /// What a POSIX shell reads back from the rendered file is the value, whatever it holds.
    @Test func aShellReadsBackTheExactValues() throws {
        let tricky = ["plain", "pa\"ss", "it's", "both ' and \"", "$HOME `id` \\n", "\"", "'", "ends with \\"]
        let text = try EnvFile.render(tricky.enumerated().map { ("V\($0.offset)", $0.element) })
        let script = text + tricky.indices.map { "printf '%s\\0' \"$V\($0)\"" }.joined(separator: "\n")
        let out = try run("/bin/sh", ["-c", script])
        #expect(out.split(separator: "\0", omittingEmptySubsequences: false).dropLast().map(String.init) == tricky)
    }
}
