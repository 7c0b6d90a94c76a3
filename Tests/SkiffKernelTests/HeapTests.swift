import XCTest
@testable import SkiffKernel

final class HeapTests: XCTestCase {
    func testPlaceholder() { XCTAssertEqual(Heap.blockSize(ofClass: 0), 16) }
}
