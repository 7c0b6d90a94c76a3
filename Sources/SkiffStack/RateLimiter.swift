import SkiffPlatform

/// A token bucket: `rate` tokens per second up to `burst`, one taken per event. Integer
/// arithmetic in billionths of a token, so it behaves the same everywhere (no floating point).
struct TokenBucket {
    let rate: Int
    let burst: Int
    /// Billionths of a token available.
    private(set) var nanoTokens: Int64
    private var lastRefill: Instant?

    private static let scale: Int64 = 1_000_000_000

    init(ratePerSecond: Int, burst: Int) {
        precondition(ratePerSecond >= 0 && burst >= 1, "token bucket needs a burst of at least one")
        self.rate = ratePerSecond
        self.burst = burst
        self.nanoTokens = Int64(burst) * TokenBucket.scale
    }

    /// Whole tokens available (after the refill done by the last `take`).
    var tokens: Int { Int(nanoTokens / TokenBucket.scale) }

    /// Takes a token if one is available at `now`.
    mutating func take(now: Instant) -> Bool {
        refill(now: now)
        guard nanoTokens >= TokenBucket.scale else { return false }
        nanoTokens -= TokenBucket.scale
        return true
    }

    private mutating func refill(now: Instant) {
        let capacity = Int64(burst) * TokenBucket.scale
        guard let last = lastRefill else { lastRefill = now; return }
        let elapsed = (now - last).nanoseconds
        // A clock that steps back gains nothing and does not move the reference point.
        guard elapsed > 0 else { return }
        lastRefill = now
        guard rate > 0 else { return }
        // Past the time to fill from empty, the bucket is full; below it `elapsed * rate` is
        // at most `capacity`, so the product cannot overflow.
        if elapsed >= capacity / Int64(rate) {
            nanoTokens = capacity
        } else {
            nanoTokens = min(capacity, nanoTokens + elapsed * Int64(rate))
        }
    }
}
