import Foundation
import Testing
@testable import KubeAPI

/// `Timestamp.string` writes its digits itself; these pin it to the API server's layout and to
/// what `String(format:)` printed before, across the year's edges and a leap day.
@Suite struct TimestampTests {
    @Test(arguments: [
        (0.0, "1970-01-01T00:00:00Z"),
        (951_782_400.0, "2000-02-29T00:00:00Z"),
        (1_735_689_599.9, "2024-12-31T23:59:59Z"),
        (1_764_201_600.0, "2025-11-27T00:00:00Z"),
        (253_402_300_799.0, "9999-12-31T23:59:59Z"),
    ])
    func formatsSecondsInUTC(seconds: Double, expected: String) {
        #expect(Timestamp.string(Date(timeIntervalSince1970: seconds)) == expected)
    }

    @Test func roundTripsThroughItsParser() {
        let now = Date()
        let s = Timestamp.string(now)
        #expect(s.utf8.count == 20)
        #expect(Timestamp.date(s) == Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down)))
    }
}
