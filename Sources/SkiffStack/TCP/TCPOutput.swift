import SkiffPlatform
import SkiffWire

// Sending: data within the send and congestion windows with Nagle's algorithm and sender-side
// silly window avoidance (RFC 9293 §3.7.4, §3.8.6.2.1), retransmission, ACKs (delayed per
// RFC 9293 §3.8.6.3), window updates (receiver SWS avoidance, §3.8.6.2.2), and the timers.

extension TCPControlBlock {
    // MARK: Segments

    /// Option bytes a non-SYN segment will carry now (timestamps, SACK blocks).
    private func optionLength() -> Int {
        var length = options.timestampOptionLength
        let blocks = outgoingSACKBlocks().count
        if blocks > 0 { length += 4 + 8 * blocks }
        return length
    }

    /// The SACK blocks of our next ACK: a D-SACK block first (RFC 2883 §4), then the reassembly
    /// queue's, newest first (RFC 2018 §4); 3 fit beside timestamps, 4 without.
    private func outgoingSACKBlocks() -> [SequenceRange] {
        guard options.sack, !reassembly.isEmpty || duplicateReport != nil else { return [] }
        let limit = options.timestamps ? 3 : 4
        guard let duplicate = duplicateReport else { return reassembly.sackBlocks(limit: limit) }
        return [duplicate] + reassembly.sackBlocks(limit: limit - 1)
    }

    /// The window field: free receive room, scaled (RFC 7323 §2.3; never in a SYN).
    private func windowField(syn: Bool) -> UInt16 {
        let free = receiveWindow
        if syn { return UInt16(min(free, 0xffff)) }
        return UInt16(min(free >> Int(options.receiveScale), 0xffff))
    }

    /// Builds and sends one segment; `length` data bytes from the send buffer at `seq`.
    func transmit(stack: NetworkStack, seq: SequenceNumber, flags: TCPFlags, length: Int, now: Instant) {
        var optionList: [TCPOption] = []
        if flags.contains(.syn) {
            let ts: (UInt32, UInt32)? = (state == .synSent ? offerTimestamps : options.timestamps)
                ? (timestampValue(now), state == .synSent ? 0 : tsRecent) : nil
            let scale: UInt8? = state == .synSent ? offeredScale
                : (options.windowScaling ? options.receiveScale : nil)
            let sack = state == .synSent ? offerSACK : options.sack
            optionList = TCPNegotiatedOptions.synOptions(mss: localMSS, windowScale: scale, sack: sack, timestamp: ts)
        } else {
            if options.timestamps {
                optionList.append(contentsOf: [.noOperation, .noOperation,
                                               .timestamps(value: timestampValue(now), echoReply: tsRecent)])
            }
            if flags.contains(.ack) {
                let blocks = outgoingSACKBlocks()
                duplicateReport = nil
                if !blocks.isEmpty {
                    optionList.append(contentsOf: [.noOperation, .noOperation,
                        .sack(blocks.map { TCPSACKBlock(left: $0.start.rawValue, right: $0.end.rawValue) })])
                }
            }
        }
        let window = windowField(syn: flags.contains(.syn))
        let header = TCPHeader(sourcePort: tuple.localPort, destinationPort: tuple.remotePort,
                               sequenceNumber: seq.rawValue,
                               acknowledgmentNumber: flags.contains(.ack) ? rcvNxt.rawValue : 0,
                               flags: flags, window: window, options: optionList)
        var packet = PacketBuffer(capacity: length)
        if length > 0 {
            packet.appendZeros(length)
            let offset = seq - sendBase
            packet.withUnsafeMutableReadableBytes { out in
                sendBuffer.copy(from: offset, length: length, into: out)
            }
        }
        stack.tcpOutput(&packet, header: header, tuple: tuple, now: now)
        if flags.contains(.ack) {
            lastAckSent = rcvNxt
            timers.delayedAck = nil
            unackedSegments = 0
            ackNeeded = false
            lastAdvertisedWindow = flags.contains(.syn) ? Int(window) : Int(window) << Int(options.receiveScale)
        }
    }

    /// Sends (or resends) our SYN, or SYN-ACK in SYN-RECEIVED.
    func sendSYN(stack: NetworkStack, now: Instant) {
        let flags: TCPFlags = state == .synReceived ? [.syn, .ack] : [.syn]
        transmit(stack: stack, seq: iss, flags: flags, length: 0, now: now)
        sndNxt = iss + 1
        if sndMax < sndNxt { sndMax = sndNxt }
        if timers.retransmit == nil { timers.retransmit = now + rto.current }
        if retransmitCount == 0 && rttTiming == nil { rttTiming = (iss, now) }
    }

    /// <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.
    func sendAck(stack: NetworkStack, now: Instant) {
        guard state != .closed && state != .synSent else { return }
        let flags: TCPFlags = state == .synReceived ? [.syn, .ack] : [.ack]
        if state == .synReceived {
            transmit(stack: stack, seq: iss, flags: flags, length: 0, now: now)
        } else {
            // SND.MAX, not SND.NXT (which a timeout moved back), so the peer finds the ACK in
            // its window; at most the right edge of the peer's window.
            let edge = sndUna + sndWnd
            transmit(stack: stack, seq: sndMax <= edge ? sndMax : edge, flags: flags, length: 0, now: now)
        }
    }

    /// RFC 5961 §3.2, §4.2, §5.2, rate limited stack-wide (§7).
    func sendChallengeAck(stack: NetworkStack, now: Instant) {
        guard stack.tcp.challengeAcks.take(now: now) else {
            stack.statistics.tcpChallengeACKsRateLimited += 1
            return
        }
        stack.statistics.tcpChallengeACKsSent += 1
        sendAck(stack: stack, now: now)
    }

    /// Sends one segment starting at `from` (data, and FIN if it reaches the end); returns the
    /// sequence space it covered.
    @discardableResult
    func retransmit(from: SequenceNumber, maxLength: Int, stack: NetworkStack, now: Instant) -> Int {
        sendSegment(from: from, maxLength: maxLength, stack: stack, now: now)
    }

    @discardableResult
    private func sendSegment(from: SequenceNumber, maxLength: Int, stack: NetworkStack, now: Instant) -> Int {
        let end = dataEnd
        let room = max(1, options.sendMSS - optionLength())
        let length = max(0, min(maxLength, room, end - from))
        var flags: TCPFlags = [.ack]
        var covered = length
        if finQueued && from + length == end {
            flags.insert(.fin)
            covered += 1
        }
        if length > 0 && from + length == end { flags.insert(.psh) }
        guard covered > 0 else { return 0 }
        let isRetransmission = from < sndMax
        let delivery = options.sack ? deliveryRate.onSend(inFlight: sndMax - sndUna, now: now) : TCPDeliverySnapshot()
        transmit(stack: stack, seq: from, flags: flags, length: length, now: now)
        if length > 0 { paced(bytes: length, now: now) }
        if isRetransmission {
            stack.statistics.tcpRetransmittedSegments += 1
            recoveryUndo?.retransmissions += 1
            if let timing = rttTiming, from <= timing.seq { rttTiming = nil }
        } else if rttTiming == nil && !options.timestamps {
            rttTiming = (from, now)
        }
        if options.sack { sent.record(start: from, end: from + covered, now: now, delivery: delivery) }
        if sndMax < from + covered { sndMax = from + covered }
        if timers.retransmit == nil { timers.retransmit = now + rto.current }
        return covered
    }

    /// Sends what the windows, Nagle and the state allow (RFC 9293 §3.7.4, §3.8.6.2.1). In SACK
    /// loss recovery the order is RFC 6675 §4 NextSeg: (1) a segment marked lost, (2) new data,
    /// (3) an unSACKed segment below the highest SACK not yet retransmitted, (4) one rescue
    /// retransmission; each only while pipe (§4 SetPipe) leaves room in cwnd.
    func output(stack: NetworkStack, now: Instant) {
        switch state {
        case .established, .closeWait, .finWait1, .closing, .lastAck:
            break
        default:
            return
        }
        let smss = options.segmentSize
        var sentNewData = false
        // Bounded: every pass sends a segment or stops; the window bounds the segments.
        for _ in 0..<4096 {
            if bbr != nil && !pacingAllows(now: now) { break }
            if inSACKRecovery {
                // NextSeg rule 1 (RFC 8985 §6.2: the loss marks replace IsLost and HighRxt, so a
                // lost retransmission is sent again).
                if let lost = sent.segments.first(where: { $0.lost && $0.end <= sndNxt }) {
                    let length = min(smss, lost.length)
                    guard sent.pipe(below: sndNxt) + length <= congestion.cwnd else { break }
                    let covered = retransmit(from: lost.start, maxLength: length, stack: stack, now: now)
                    guard covered > 0 else { break }
                    highRetransmitted = SequenceNumber.max(highRetransmitted, lost.start + covered)
                    continue
                }
            }
            if sendNewData(stack: stack, now: now) {
                sentNewData = true
                continue
            }
            if inSACKRecovery && sendRecoveryRetransmission(stack: stack, now: now) { continue }
            break
        }
        if sentNewData { armProbeTimer(now: now) }
        if bbr != nil && sndNxt >= dataEnd && !sent.segments.contains(where: { $0.lost }) {
            // Draft-cheng delivery rate §3.3 (C.app_limited): the application, not the network,
            // limits what is in flight, so the samples until it is delivered understate the path.
            let pipe = sent.pipe(below: sndMax)
            if pipe < congestion.cwnd { deliveryRate.markApplicationLimited(inFlight: pipe) }
        }
        // The persist timer: data waits, the window is closed and nothing is in flight to bring
        // an update (RFC 9293 §3.8.6.1).
        if sndWnd == 0 && dataEnd > sndNxt && sndUna == sndMax {
            if timers.persist == nil {
                timers.persist = now + persistInterval(stack.configuration)
            }
        } else if sndWnd > 0 {
            timers.persist = nil
        }
    }

    /// Loss recovery driven by the SACK scoreboard and the send records (TCPRACK.swift).
    private var inSACKRecovery: Bool { inRecovery && options.sack }

    /// One segment from SND.NXT if the windows and Nagle allow; true when one went out.
    private func sendNewData(stack: NetworkStack, now: Instant) -> Bool {
        let smss = options.segmentSize
        let end = sendEnd
        guard sndNxt < end else { return false }
        let flight = inSACKRecovery ? sent.pipe(below: sndNxt) : sndNxt - sndUna
        // RFC 3042 limited transmit: one more segment for each of the first two duplicates.
        let bonus = (!inRecovery && duplicateAcks > 0 && duplicateAcks < 3) ? duplicateAcks * smss : 0
        let congestionRoom = congestion.cwnd + bonus - flight
        let windowRoom = (sndUna + sndWnd) - sndNxt
        let available = dataEnd - sndNxt
        if available <= 0 {
            // Only the FIN is left: it needs no window.
            let sent = sendSegment(from: sndNxt, maxLength: 0, stack: stack, now: now)
            sndNxt = sndNxt + sent
            return false
        }
        let length = min(available, smss, congestionRoom, windowRoom)
        guard length > 0 else { return false }
        if length < smss {
            let allQueued = length == available
            let nothingOutstanding = sndNxt == sndUna
            let sendNow = (allQueued && (!nagle || nothingOutstanding || finQueued))
                || (maxSndWnd > 0 && length >= maxSndWnd / 2)
                || sndNxt < sndMax
            guard sendNow else { return false }
        }
        let sent = sendSegment(from: sndNxt, maxLength: length, stack: stack, now: now)
        guard sent > 0 else { return false }
        sndNxt = sndNxt + sent
        return true
    }

    /// RFC 6675 §4 NextSeg rules 3 and 4, when rules 1 and 2 found nothing to send.
    private func sendRecoveryRetransmission(stack: NetworkStack, now: Instant) -> Bool {
        let smss = options.segmentSize
        let pipe = sent.pipe(below: sndNxt)
        // Rule 3: the lowest unSACKed segment above HighRxt and below the highest SACKed byte.
        if let highest = scoreboard.highestSacked,
           let candidate = sent.segments.first(where: {
               !$0.sacked && !$0.lost && $0.start >= highRetransmitted && $0.end <= highest && $0.end <= sndNxt
           }) {
            let length = min(smss, candidate.length)
            guard pipe + length <= congestion.cwnd else { return false }
            let covered = retransmit(from: candidate.start, maxLength: length, stack: stack, now: now)
            guard covered > 0 else { return false }
            highRetransmitted = candidate.start + covered
            return true
        }
        // Rule 4: once per recovery, a segment holding the highest unSACKed byte outstanding, so
        // that a loss at the tail is repaired without a timeout. HighRxt does not move. Only a
        // tail above every SACK qualifies: a hole below one is rule 1's or 3's, and resending a
        // hole's retransmission again would only duplicate it.
        guard rack.rescueRetransmitted == nil || sndUna > rack.rescueRetransmitted!,
              let last = sent.segments.last(where: { !$0.sacked && $0.end <= sndNxt }),
              scoreboard.highestSacked.map({ last.start >= $0 }) ?? true else { return false }
        let length = min(smss, last.length)
        guard pipe + length <= congestion.cwnd else { return false }
        let from = last.end - length
        let covered = retransmit(from: from, maxLength: length, stack: stack, now: now)
        guard covered > 0 else { return false }
        rack.rescueRetransmitted = recover
        stack.statistics.tcpRescueRetransmits += 1
        return true
    }

    /// RFC 8985 §7.2: schedules the probe timeout (PTO) after new data goes out or new data is
    /// acknowledged, outside loss recovery, when no probe is outstanding: 2 SRTT, plus the
    /// worst-case delayed ACK when one segment is in flight, and never later than the RTO.
    func armProbeTimer(now: Instant) {
        guard options.sack, !inRecovery, rack.probeEnd == nil, retransmitCount == 0, sndUna < sndMax else {
            timers.probe = nil
            return
        }
        var timeout: Interval
        if let srtt = rto.smoothed {
            timeout = srtt * 2
            if sndMax - sndUna <= options.segmentSize { timeout = timeout + TCPRACKState.worstCaseDelayedAck }
        } else {
            timeout = .seconds(1)
        }
        if timeout < TCPRetransmissionTimeout.granularity { timeout = TCPRetransmissionTimeout.granularity }
        let deadline = now + timeout
        if let retransmit = timers.retransmit, retransmit <= deadline {
            timers.probe = nil
        } else {
            timers.probe = deadline
        }
    }

    /// RFC 8985 §7.3: the PTO fired. New data if there is some and the peer's window takes it,
    /// else the last segment again; then the RTO is restarted.
    private func sendTailLossProbe(stack: NetworkStack, now: Instant) {
        guard options.sack, !inRecovery, rack.probeEnd == nil, sndUna < sndMax else { return }
        let smss = options.segmentSize
        let available = dataEnd - sndNxt
        let windowRoom = (sndUna + sndWnd) - sndNxt
        if sndNxt == sndMax && available > 0 && windowRoom >= min(available, smss) {
            let covered = sendSegment(from: sndNxt, maxLength: min(available, smss), stack: stack, now: now)
            guard covered > 0 else { return }
            sndNxt = sndNxt + covered
            rack.probeWasRetransmission = false
        } else {
            guard let last = sent.segments.last(where: { !$0.sacked }) else { return }
            let length = min(smss, last.length)
            guard retransmit(from: last.end - length, maxLength: length, stack: stack, now: now) > 0 else { return }
            rack.probeWasRetransmission = true
        }
        stack.statistics.tcpTailLossProbes += 1
        rack.probeEnd = sndMax
        rack.probeDuplicated = false
        timers.retransmit = now + rto.current
    }

    private func persistInterval(_ configuration: StackConfiguration) -> Interval {
        var value = rto.current
        var doublings = persistBackoff
        while doublings > 0 && value < configuration.tcpMaximumRTO {
            value = value * 2
            doublings -= 1
        }
        return value < configuration.tcpMaximumRTO ? value : configuration.tcpMaximumRTO
    }

    /// Receiver SWS avoidance (RFC 9293 §3.8.6.2.2): announce a larger window once it grew by
    /// min(buffer / 2, MSS) since the last announcement.
    func windowUpdateIfWorthIt(stack: NetworkStack, now: Instant) {
        guard state.acceptsData else { return }
        let grown = receiveWindow - lastAdvertisedWindow
        let threshold = min(receiveBuffer.capacity / 2, options.receiveMSS)
        if grown >= threshold {
            sendAck(stack: stack, now: now)
        }
    }

    /// Sends RST <SEQ=SND.MAX> and closes (ABORT, RFC 9293 §3.10.5, or a fatal timeout).
    func abortWithReset(stack: NetworkStack, now: Instant, reason: TCPCloseReason) {
        switch state {
        case .synReceived, .established, .finWait1, .finWait2, .closeWait:
            stack.tcpSendReset(tuple: tuple, seq: sndMax, ack: rcvNxt, now: now)
        default:
            break
        }
        detachFromListener(stack: stack)
        if reason != .aborted { stack.statistics.tcpConnectionsReset += 1 }
        closeReason = reason
        flushBuffers()
        enterClosed()
    }

    // MARK: Timers

    func armKeepAlive(now: Instant, configuration: StackConfiguration) {
        guard keepAliveEnabled, state == .established || state == .closeWait else {
            timers.keepAlive = nil
            return
        }
        timers.keepAlive = keepAliveProbesSent == 0 ? lastReceived + configuration.tcpKeepAliveIdle
            : now + configuration.tcpKeepAliveInterval
    }

    /// Runs every timer that is due.
    func runTimers(stack: NetworkStack, now: Instant) {
        let configuration = stack.configuration
        if let deadline = timers.timeWait, deadline <= now {
            stack.statistics.tcpTimeWaitExpired += 1
            enterClosed()
            return
        }
        if let deadline = timers.finWait2, deadline <= now, state == .finWait2 {
            enterClosed()
            return
        }
        if let deadline = timers.retransmit, deadline <= now {
            timers.retransmit = nil
            retransmitTimeout(stack: stack, now: now)
            if state == .closed { return }
        }
        if let deadline = timers.reorder, deadline <= now {
            timers.reorder = nil
            detectLosses(stack: stack, now: now)
            output(stack: stack, now: now)
            if state == .closed { return }
        }
        if let deadline = timers.probe, deadline <= now {
            timers.probe = nil
            sendTailLossProbe(stack: stack, now: now)
        }
        if let deadline = timers.pacing, deadline <= now {
            timers.pacing = nil
            output(stack: stack, now: now)
            if state == .closed { return }
        }
        if let deadline = timers.persist, deadline <= now {
            timers.persist = nil
            if sndWnd == 0 && dataEnd > sndNxt && sndUna == sndMax {
                // A one-byte probe beyond the closed window; SND.NXT does not move.
                stack.statistics.tcpZeroWindowProbes += 1
                transmit(stack: stack, seq: sndNxt, flags: [.ack], length: 1, now: now)
                zeroWindowProbeEnd = sndNxt + 1
                persistBackoff += 1
                timers.persist = now + persistInterval(configuration)
            }
        }
        if let deadline = timers.delayedAck, deadline <= now {
            timers.delayedAck = nil
            stack.statistics.tcpDelayedACKs += 1
            sendAck(stack: stack, now: now)
        }
        if let deadline = timers.keepAlive, deadline <= now {
            timers.keepAlive = nil
            if keepAliveEnabled && (state == .established || state == .closeWait) {
                if now - lastReceived < configuration.tcpKeepAliveIdle && keepAliveProbesSent == 0 {
                    armKeepAlive(now: now, configuration: configuration)
                } else if keepAliveProbesSent >= configuration.tcpKeepAliveProbes {
                    stack.statistics.tcpKeepAliveTimeouts += 1
                    abortWithReset(stack: stack, now: now, reason: .timedOut)
                    return
                } else {
                    // RFC 9293 §3.8.4: <SEQ=SND.NXT-1> with no data draws an ACK.
                    stack.statistics.tcpKeepAlivesSent += 1
                    keepAliveProbesSent += 1
                    transmit(stack: stack, seq: sndUna - 1, flags: [.ack], length: 0, now: now)
                    armKeepAlive(now: now, configuration: configuration)
                }
            }
        }
        if keepAliveEnabled && timers.keepAlive == nil { armKeepAlive(now: now, configuration: configuration) }
    }

    /// RFC 6298 §5.4–5.6: retransmit the earliest unacknowledged segment, back off, and restart
    /// from a loss window (RFC 5681 §3.1); SACK information is dropped (RFC 2018 §8).
    private func retransmitTimeout(stack: NetworkStack, now: Instant) {
        let configuration = stack.configuration
        switch state {
        case .synSent, .synReceived:
            retransmitCount += 1
            guard retransmitCount <= configuration.tcpSYNRetries else {
                if state == .synSent || !passive {
                    closeReason = .timedOut
                    stack.statistics.tcpOpenFailures += 1
                }
                detachFromListener(stack: stack)
                enterClosed()
                return
            }
            stack.statistics.tcpRetransmitTimeouts += 1
            stack.statistics.tcpRetransmittedSegments += 1
            rttTiming = nil
            rto.backOff()
            sendSYN(stack: stack, now: now)
        case .established, .closeWait, .finWait1, .closing, .lastAck:
            guard sndUna < sndMax else { return }
            retransmitCount += 1
            guard retransmitCount <= configuration.tcpMaximumRetransmissions else {
                abortWithReset(stack: stack, now: now, reason: .timedOut)
                return
            }
            stack.statistics.tcpRetransmitTimeouts += 1
            congestion.onRetransmitTimeout(flightSize: sndMax - sndUna, now: now, firstTimeout: retransmitCount == 1)
            bbr?.onRetransmitTimeout(cwnd: &congestion.cwnd)
            nextSendTime = nil
            inRecovery = false
            duplicateAcks = 0
            recover = sndMax
            scoreboard.removeAll()
            sent.clearSACKAndLoss()
            // No undo past a timeout (its go-back-N resends much that DSACK will report).
            recoveryUndo = nil
            if retransmitCount == 1 { rack.recoveryEnded() }
            timers.reorder = nil
            timers.probe = nil
            rack.probeEnd = nil
            rttTiming = nil
            rto.backOff()
            sndNxt = sndUna
            highRetransmitted = sndUna
            let sent = sendSegment(from: sndUna, maxLength: options.segmentSize, stack: stack, now: now)
            sndNxt = sndUna + sent
            timers.retransmit = now + rto.current
        default:
            break
        }
    }
}
