import XCTest
@testable import SkiffConfig

final class KernelCommandLineTests: XCTestCase {
    func testSplitsAtRunsOfWhiteSpaceWithColumns() throws {
        let text = "  console=ttyS0  ip=dhcp\tquiet\n"
        let line = try KernelCommandLine(text)
        XCTAssertEqual(line.parameters, [
            CommandLineParameter(key: "console", value: "ttyS0", column: 3, valueColumn: 11),
            CommandLineParameter(key: "ip", value: "dhcp", column: 18, valueColumn: 21),
            CommandLineParameter(key: "quiet", value: nil, column: 26, valueColumn: nil),
        ])
        XCTAssertEqual(line.applicationArguments, [])
    }

    func testEmptyAndBlankLinesHaveNoParameters() throws {
        XCTAssertEqual(try KernelCommandLine("").parameters, [])
        XCTAssertEqual(try KernelCommandLine(" \t\n\r\u{0B}\u{0C} ").parameters, [])
    }

    func testQuotedValueKeepsSpaces() throws {
        let line = try KernelCommandLine(#"foo="a b" bar"#)
        XCTAssertEqual(line.parameters, [
            CommandLineParameter(key: "foo", value: "a b", column: 1, valueColumn: 6),
            CommandLineParameter(key: "bar", value: nil, column: 11, valueColumn: nil),
        ])
    }

    func testWholeParameterQuoted() throws {
        let line = try KernelCommandLine(#"x "foo=a b" "bare word""#)
        XCTAssertEqual(line.parameters, [
            CommandLineParameter(key: "x", value: nil, column: 1, valueColumn: nil),
            CommandLineParameter(key: "foo", value: "a b", column: 4, valueColumn: 8),
            CommandLineParameter(key: "bare word", value: nil, column: 14, valueColumn: nil),
        ])
    }

    func testQuotesInsideAValueStayAsInLinux() throws {
        let line = try KernelCommandLine(#"foo=a"b c"d"#)
        XCTAssertEqual(line.parameters.map(\.value), [#"a"b c"d"#])
    }

    func testSplitAtFirstEquals() throws {
        let line = try KernelCommandLine("a=b=c empty= =novalue")
        XCTAssertEqual(line.parameters, [
            CommandLineParameter(key: "a", value: "b=c", column: 1, valueColumn: 3),
            CommandLineParameter(key: "empty", value: "", column: 7, valueColumn: 13),
            CommandLineParameter(key: "", value: "novalue", column: 14, valueColumn: 15),
        ])
    }

    func testEmptyQuotedValue() throws {
        let line = try KernelCommandLine(#"a="" b"#)
        XCTAssertEqual(line.parameters.map(\.value), ["", nil])
        XCTAssertEqual(line.parameters[0].valueColumn, 4)
    }

    func testDoubleDashEndsKernelParameters() throws {
        let line = try KernelCommandLine("ip=dhcp -- --port=80 verbose")
        XCTAssertEqual(line.parameters.map(\.key), ["ip"])
        XCTAssertEqual(line.applicationArguments, [
            CommandLineParameter(key: "--port", value: "80", column: 12, valueColumn: 19),
            CommandLineParameter(key: "verbose", value: nil, column: 22, valueColumn: nil),
        ])
    }

    func testUnterminatedQuoteIsAnErrorAtTheQuote() {
        let text = #"console=ttyS0 foo="abc def"#
        let error = commandLineError { () throws(CommandLineError) in try KernelCommandLine(text) }
        XCTAssertEqual(error, CommandLineError(column: column(of: "\"", in: text), problem: .unterminatedQuote))
        XCTAssertEqual(error?.description, "command line column 19: a double quote is not closed")
    }

    func testColumnsCountBytes() throws {
        let line = try KernelCommandLine("msg=h\u{E9}llo ip=dhcp")
        XCTAssertEqual(line.parameters[0].value, "h\u{E9}llo")
        XCTAssertEqual(line.parameters[1].column, 12)  // é is two bytes
    }

    func testKeysMatchWithDashAndUnderscoreEquivalent() throws {
        let line = try KernelCommandLine("skiff-verbose ip=dhcp ip=off IP=on")
        XCTAssertTrue(line.hasFlag("skiff_verbose"))
        XCTAssertTrue(line.hasFlag("skiff-verbose"))
        XCTAssertFalse(line.hasFlag("skiff.verbose"))
        XCTAssertEqual(line.parameters(named: "ip").map(\.value), ["dhcp", "off"])
    }
}
