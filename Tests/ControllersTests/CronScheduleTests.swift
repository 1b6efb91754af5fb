import Foundation
import Testing
import KubeAPI
@testable import Controllers

/// A UTC instant from RFC 3339 text.
func utc(_ s: String) -> Date { Timestamp.date(s)! }

func cronJob(_ schedule: String, timeZone: String? = "UTC", created: String = "2024-01-01T00:00:30Z",
             concurrencyPolicy: String = "Allow", suspend: Bool = false, startingDeadlineSeconds: Int64? = nil,
             successfulLimit: Int32? = 3, failedLimit: Int32? = 1) -> CronJob {
    var cj: CronJob = decode(#"""
    {"metadata":{"name":"cj","namespace":"default","uid":"cj-uid"},
     "spec":{"schedule":"","jobTemplate":{"metadata":{"labels":{"app":"report"},"annotations":{"team":"ops"}},
             "spec":{"template":{"spec":{"restartPolicy":"OnFailure","containers":[{"name":"main","image":"busybox"}]}}}}}}
    """#)
    cj.spec.schedule = schedule
    cj.spec.timeZone = timeZone
    cj.metadata.creationTimestamp = created
    cj.spec.concurrencyPolicy = concurrencyPolicy
    cj.spec.suspend = suspend
    cj.spec.startingDeadlineSeconds = startingDeadlineSeconds
    cj.spec.successfulJobsHistoryLimit = successfulLimit
    cj.spec.failedJobsHistoryLimit = failedLimit
    return cj
}

/// Next activation of `schedule` after `after`, written in the zone as Go's RFC 3339 would.
func next(_ schedule: String, _ after: String, tz: String = "UTC") throws -> String? {
    let d = try CronJobController.nextScheduleTime(cronJob(schedule, timeZone: tz), after: utc(after))
    return d.map { GoTime.rfc3339($0, in: TimeZone(identifier: tz)!) }
}

/// The activations robfig/cron v3 `SpecSchedule.Next` gives, worked through its algorithm.
@Suite struct CronScheduleTests {
    @Test func everyFifteenMinutes() throws {
        #expect(try next("*/15 * * * *", "2024-01-01T10:07:30Z") == "2024-01-01T10:15:00Z")
        // Strictly after: a schedule time is not its own successor.
        #expect(try next("*/15 * * * *", "2024-01-01T10:15:00Z") == "2024-01-01T10:30:00Z")
        #expect(try next("*/15 * * * *", "2024-01-01T23:59:00Z") == "2024-01-02T00:00:00Z")
    }

    @Test func weekdaysAtNine() throws {
        // 2024-01-05 is a Friday: the next run is Monday.
        #expect(try next("0 9 * * 1-5", "2024-01-05T09:00:00Z") == "2024-01-08T09:00:00Z")
        #expect(try next("0 9 * * MON-FRI", "2024-01-06T08:00:00Z") == "2024-01-08T09:00:00Z")
        #expect(try next("0 9 * * 1-5", "2024-01-08T08:59:59Z") == "2024-01-08T09:00:00Z")
    }

    @Test func descriptors() throws {
        #expect(try next("@hourly", "2024-01-01T10:00:00Z") == "2024-01-01T11:00:00Z")
        #expect(try next("@hourly", "2024-01-01T10:59:59Z") == "2024-01-01T11:00:00Z")
        #expect(try next("@daily", "2024-01-01T10:00:00Z") == "2024-01-02T00:00:00Z")
        #expect(try next("@midnight", "2024-01-01T00:00:00Z") == "2024-01-02T00:00:00Z")
        #expect(try next("@weekly", "2024-01-01T00:00:00Z") == "2024-01-07T00:00:00Z")
        #expect(try next("@monthly", "2024-01-15T00:00:00Z") == "2024-02-01T00:00:00Z")
        #expect(try next("@yearly", "2024-01-01T00:00:00Z") == "2025-01-01T00:00:00Z")
        #expect(try next("@annually", "2024-06-01T00:00:00Z") == "2025-01-01T00:00:00Z")
        // Accepted by robfig and so by Kubernetes; whole seconds from the given time.
        #expect(try next("@every 1h30m", "2024-01-01T10:00:20Z") == "2024-01-01T11:30:20Z")
        let fractional = try CronJobController.nextScheduleTime(cronJob("@every 1m"), after: utc("2024-01-01T10:00:20Z").addingTimeInterval(0.7))
        #expect(fractional == utc("2024-01-01T10:01:20Z"))
    }

    @Test func thirtyFirstSkipsShortMonths() throws {
        #expect(try next("0 0 31 * *", "2024-01-31T00:00:00Z") == "2024-03-31T00:00:00Z")
        #expect(try next("0 0 31 * *", "2024-03-31T00:00:00Z") == "2024-05-31T00:00:00Z")
        #expect(try next("0 0 31 * *", "2024-07-31T00:00:00Z") == "2024-08-31T00:00:00Z")
    }

    @Test func februaryTwentyNinthWaitsForLeapYears() throws {
        #expect(try next("0 0 29 2 *", "2024-01-01T00:00:00Z") == "2024-02-29T00:00:00Z")
        #expect(try next("0 0 29 2 *", "2024-02-29T00:00:00Z") == "2028-02-29T00:00:00Z")
        // 2100 is not a leap year; 2104 is beyond robfig's five-year search: no time at all.
        #expect(try next("0 0 29 2 *", "2097-01-01T00:00:00Z") == nil)
        #expect(try next("0 0 30 2 *", "2024-01-01T00:00:00Z") == nil)
    }

    @Test func springForwardSkipsTheMissingTime() throws {
        // 2024-03-10 in New York: 02:00 EST becomes 03:00 EDT, so 02:30 does not exist.
        // robfig's hour loop steps 01:00 → 03:00, wraps at midnight and finds the next day.
        let ny = "America/New_York"
        #expect(try next("30 2 * * *", "2024-03-09T05:00:00Z", tz: ny) == "2024-03-09T02:30:00-05:00")
        #expect(try next("30 2 * * *", "2024-03-09T07:30:00Z", tz: ny) == "2024-03-11T02:30:00-04:00")
        // Times around the gap are unaffected.
        #expect(try next("30 3 * * *", "2024-03-10T05:00:00Z", tz: ny) == "2024-03-10T03:30:00-04:00")
        #expect(try next("30 1 * * *", "2024-03-10T05:00:00Z", tz: ny) == "2024-03-10T01:30:00-05:00")
    }

    @Test func fallBackRunsOnce() throws {
        // 2024-11-03 in New York: 02:00 EDT becomes 01:00 EST; 02:30 happens once (EST).
        let ny = "America/New_York"
        let first = try next("30 2 * * *", "2024-11-03T04:00:00Z", tz: ny)
        #expect(first == "2024-11-03T02:30:00-05:00")
        #expect(try next("30 2 * * *", "2024-11-03T07:30:00Z", tz: ny) == "2024-11-04T02:30:00-05:00")
        // The repeated hour itself matches twice in robfig, once per offset.
        #expect(try next("30 1 * * *", "2024-11-03T04:00:00Z", tz: ny) == "2024-11-03T01:30:00-04:00")
        #expect(try next("30 1 * * *", "2024-11-03T05:30:00Z", tz: ny) == "2024-11-03T01:30:00-05:00")
        #expect(try next("30 1 * * *", "2024-11-03T06:30:00Z", tz: ny) == "2024-11-04T01:30:00-05:00")
    }

    @Test func sundayIsZeroAndSevenIsRejected() throws {
        // 2024-01-01 is a Monday.
        #expect(try next("0 12 * * 0", "2024-01-01T00:00:00Z") == "2024-01-07T12:00:00Z")
        #expect(try next("0 12 * * SUN", "2024-01-01T00:00:00Z") == "2024-01-07T12:00:00Z")
        // robfig's day-of-week range is 0–6 (unlike Vixie cron, 7 is not Sunday), so the
        // API server rejects it and the controller cannot parse it.
        #expect(throws: CronJobController.ScheduleError.unparseable("end of range (7) above maximum (6): 7")) {
            try CronJobController.nextScheduleTime(cronJob("0 12 * * 7"), after: utc("2024-01-01T00:00:00Z"))
        }
    }

    @Test func restrictedDayOfMonthAndWeekMatchEither() throws {
        // Both restricted: the 1st of the month OR any Monday.
        #expect(try next("0 0 1 * MON", "2024-01-01T00:00:00Z") == "2024-01-08T00:00:00Z")
        #expect(try next("0 0 1 * MON", "2024-01-29T00:00:00Z") == "2024-02-01T00:00:00Z")
        #expect(try next("0 0 1 * MON", "2024-02-01T00:00:00Z") == "2024-02-05T00:00:00Z")
        // One of them a star: both must match (here: every Monday).
        #expect(try next("0 0 * * MON", "2024-01-29T00:00:00Z") == "2024-02-05T00:00:00Z")
        // A stepped star is a restriction: 1st, 3rd, … OR Monday.
        #expect(try next("0 0 */2 * MON", "2024-01-01T00:00:00Z") == "2024-01-03T00:00:00Z")
        #expect(try next("0 0 */2 * MON", "2024-01-07T00:00:00Z") == "2024-01-08T00:00:00Z")
    }

    @Test func zones() throws {
        #expect(try next("0 9 * * *", "2024-01-01T00:30:00Z", tz: "Asia/Tokyo") == "2024-01-02T09:00:00+09:00")
        // A CRON_TZ prefix (rejected by validation) still parses and wins over spec.timeZone.
        let d = try CronJobController.nextScheduleTime(cronJob("CRON_TZ=Asia/Tokyo 0 9 * * *", timeZone: "UTC"), after: utc("2024-01-01T00:30:00Z"))
        #expect(d == utc("2024-01-02T00:00:00Z"))
        #expect(throws: CronJobController.ScheduleError.unknownTimeZone("Mars/Olympus")) {
            try CronJobController.nextScheduleTime(cronJob("@hourly", timeZone: "Mars/Olympus"), after: utc("2024-01-01T00:00:00Z"))
        }
    }

    @Test func oneParserForValidationAndScheduling() {
        // The validator's messages come from the same parse.
        #expect(CronSchedule.parseError("61 * * * *") == "end of range (61) above maximum (59): 61")
        #expect(CronSchedule.parseError("1,,2 * * * *") == nil, "strings.FieldsFunc drops empty list items")
        guard case .success(let s) = CronSchedule.parse("5,10-12 * * * *") else { Issue.record("parse"); return }
        let utcZone = TimeZone(identifier: "UTC")!
        #expect(s.next(after: utc("2024-01-01T00:05:00Z"), in: utcZone) == utc("2024-01-01T00:10:00Z"))
        #expect(s.next(after: utc("2024-01-01T00:12:00Z"), in: utcZone) == utc("2024-01-01T01:05:00Z"))
    }
}
