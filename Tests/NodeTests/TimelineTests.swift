import Testing
@testable import Node

@Suite struct TimelineTests {
    /// kubectl -w keeps column widths between rows and widens them when a longer value appears.
    @Test func columnsAreRememberedAndWidenLikeKubectl() {
        var widths: [Int] = []
        let first = Timeline.format([["NAME", "READY", "STATUS", "RESTARTS", "AGE"], ["job-x", "0/2", "Pending", "0", "0s"]], widths: &widths)
        #expect(first == "NAME    READY   STATUS    RESTARTS   AGE\njob-x   0/2     Pending   0          0s\n")
        let second = Timeline.format([["job-x", "1/2", "PodInitializing", "0", "1s"]], widths: &widths)
        #expect(second == "job-x   1/2     PodInitializing   0          1s\n")
        let third = Timeline.format([["job-x", "2/2", "Running", "0", "2s"]], widths: &widths)
        #expect(third == "job-x   2/2     Running           0          2s\n")
    }
}
