import SkiffPlatform
import SkiffWire

// Segment arrival, RFC 9293 §3.10.7.3 (SYN-SENT) and §3.10.7.4 (the other states), with
// RFC 5961 (blind reset, SYN and data injection: §3, §4, §5), RFC 7323 §5 (PAWS) and RFC 5681 /
// RFC 6582 (duplicate ACKs, fast retransmit and recovery) folded in at their steps.

extension TCPControlBlock {
    /// Processes one segment. The stack removes the block when it ends in CLOSED.
    func receive(_ seg: TCPSegment, stack: NetworkStack, now: Instant) {
        switch state {
        case .closed, .listen:
            return
        case .synSent:
            receiveInSynSent(seg, stack: stack, now: now)
            return
        default:
            break
        }

        // A passive open's peer repeating its SYN: our SYN-ACK was lost, send it again.
        if state == .synReceived && passive && seg.syn && !seg.hasAck && !seg.rst && seg.seq == irs {
            sendSYN(stack: stack, now: now)
            return
        }

        // Simultaneous open (RFC 9293 Figure 8): in SYN-RECEIVED the peer's SYN-ACK repeats its
        // SYN (at IRS) and acknowledges ours; take it as the ACK that completes the handshake.
        var seg = seg
        if state == .synReceived && !passive && seg.syn && seg.hasAck && !seg.rst && seg.seq == irs {
            seg.flags.remove(.syn)
            seg.seq = irs + 1
            ackNeeded = true
        }

        // RFC 7323 §5.3 R1: PAWS, before the sequence number check.
        if options.timestamps && !seg.rst {
            guard let ts = seg.options.timestamp else {
                // RFC 7323 §3.2: a non-RST segment without the option is dropped.
                stack.statistics.tcpPAWSDrops += 1
                return
            }
            let age = Int32(bitPattern: tsRecent &- ts.value)
            if age > 0 {
                if age <= TCPControlBlock.timestampTickWindow || isReorderedPureAck(seg, timestamp: ts.value) {
                    stack.statistics.tcpPAWSReorderedAccepted += 1
                } else {
                    stack.statistics.tcpPAWSDrops += 1
                    sendAck(stack: stack, now: now)
                    return
                }
            }
        }

        // First: the sequence number (RFC 9293 §3.10.7.4, the four cases).
        let window = receiveWindow
        var seq = seg.seq
        var payload = seg.payload
        var fin = seg.fin
        if !isAcceptable(seg, window: window) {
            // The special allowance for a zero window: a segment at RCV.NXT still has its ACK
            // processed (a window probe); its data is not taken.
            let probe = window == 0 && seg.seq == rcvNxt && !seg.syn && !seg.rst && seg.hasAck
            if !probe {
                if !seg.payload.isEmpty && !seg.syn && seg.seq + seg.payload.count <= rcvNxt
                    && rcvNxt - seg.seq <= receiveBuffer.capacity {
                    // RFC 2883 §4: data received before, reported in the ACK this draws.
                    duplicateReport = SequenceRange(start: seg.seq, end: seg.seq + seg.payload.count)
                }
                if !seg.rst {
                    stack.statistics.tcpOutOfWindow += 1
                    if state == .timeWait && seg.fin {
                        // A retransmitted FIN: acknowledge it and restart the 2 MSL wait.
                        timers.timeWait = now + stack.configuration.tcpMaximumSegmentLifetime * 2
                    }
                    sendAck(stack: stack, now: now)
                }
                return
            }
            payload = UnsafeRawBufferPointer(start: nil, count: 0)
            fin = false
            ackNeeded = true
        }
        lastReceived = now
        keepAliveProbesSent = 0
        // RFC 7323 §4.3: remember the newest timestamp of a segment at or before Last.ACK.sent.
        if options.timestamps, let ts = seg.options.timestamp,
           Int32(bitPattern: ts.value &- tsRecent) >= 0, seg.seq <= lastAckSent {
            tsRecent = ts.value
        }

        // Second: RST (RFC 5961 §3.2: only an exact match resets; in the window, a challenge).
        if seg.rst {
            if seg.seq == rcvNxt {
                receiveReset(stack: stack)
            } else {
                sendChallengeAck(stack: stack, now: now)
            }
            return
        }

        // Fourth: SYN (RFC 5961 §4.2: a challenge ACK, whatever the sequence number).
        if seg.syn {
            if state == .synReceived && passive {
                // RFC 9293: back to LISTEN, which for us means forgetting this block.
                detachFromListener(stack: stack)
                enterClosed()
                return
            }
            sendChallengeAck(stack: stack, now: now)
            return
        }

        // Fifth: ACK.
        guard seg.hasAck else { return }
        if state == .synReceived {
            guard seg.ack > sndUna && seg.ack <= sndMax else {
                // testSynReceivedAckTooLow: <SEQ=SEG.ACK><CTL=RST>.
                stack.tcpSendReset(tuple: tuple, seq: seg.ack, ack: nil, now: now)
                return
            }
            // A full accept queue drops the completing ACK and stays in SYN-RECEIVED, as Linux
            // does (tcp_abort_on_overflow = 0): the peer's next segment, or our SYN-ACK
            // retransmission, completes the handshake once the application has accepted.
            if let endpoint = listener, !endpoint.isClosed, endpoint.acceptQueue.count >= endpoint.backlog {
                stack.statistics.tcpListenOverflows += 1
                return
            }
            sndWnd = Int(seg.window) << Int(options.sendScale)
            maxSndWnd = max(maxSndWnd, sndWnd)
            sndWl1 = seg.seq
            sndWl2 = seg.ack
            becomeEstablished(stack: stack, now: now)
            if state == .closed { return }
        }
        // RFC 5961 §5.2: SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT, else a challenge ACK.
        var upper = sndMax
        if let probeEnd = zeroWindowProbeEnd, probeEnd > upper { upper = probeEnd }
        if seg.ack > upper || seg.ack < sndUna - max(maxSndWnd, 1) {
            sendChallengeAck(stack: stack, now: now)
            return
        }
        processAck(seg, stack: stack, now: now)
        if state == .closed { return }

        // Trim what lies before RCV.NXT or beyond the window.
        if seq < rcvNxt && !payload.isEmpty && options.sack {
            // RFC 2883 §4: the part received before is reported as a duplicate.
            duplicateReport = SequenceRange(start: seq, end: SequenceNumber.min(seq + payload.count, rcvNxt))
            ackNeeded = true
        }
        if seq < rcvNxt {
            let skip = rcvNxt - seq
            if skip >= payload.count {
                if fin && seq + payload.count < rcvNxt { fin = false }
                seq = seq + payload.count
                payload = UnsafeRawBufferPointer(start: nil, count: 0)
                if seq < rcvNxt { seq = rcvNxt }
            } else {
                payload = UnsafeRawBufferPointer(rebasing: payload[skip...])
                seq = rcvNxt
            }
        }
        let room = window - (seq - rcvNxt)
        if payload.count > room {
            payload = UnsafeRawBufferPointer(rebasing: payload[0..<max(0, room)])
            fin = false
        }

        // Seventh: the segment text.
        if !payload.isEmpty {
            if state.acceptsData {
                if applicationClosed {
                    // RFC 9293 §3.10.4 / RFC 1122 §4.2.2.13: data nobody will read: reset.
                    abortWithReset(stack: stack, now: now, reason: .aborted)
                    return
                }
                acceptData(payload, at: seq, stack: stack)
            }
        }

        // Eighth: FIN.
        if fin && state.acceptsData || fin && state == .synReceived {
            let finSeq = seq + payload.count
            if finSeq == rcvNxt {
                receiveFin(stack: stack, now: now)
            } else if finSeq > rcvNxt {
                pendingFin = finSeq
            }
        } else if fin {
            ackNeeded = true
        }
        if let pending = pendingFin, pending == rcvNxt, state.acceptsData {
            receiveFin(stack: stack, now: now)
        }

        output(stack: stack, now: now)
        if ackNeeded {
            sendAck(stack: stack, now: now)
        } else if unackedSegments > 0 && timers.delayedAck == nil {
            timers.delayedAck = now + stack.configuration.tcpDelayedACKTimeout
        }
    }

    /// RFC 7323 §5.3 R1 read with one tick of slack, as Linux does (TCP_PAWS_WINDOW): a segment
    /// sent a moment before the one that set TS.Recent and overtaken by it (a retransmission
    /// filling a hole overtakes the data sent just before it) carries a TSval one tick older.
    /// PAWS still holds: an old duplicate from a wrapped sequence space is older by the time it
    /// takes to send 2^31 bytes (§5.4 bounds the clock so that is many ticks).
    static let timestampTickWindow: Int32 = 1

    /// An exception to RFC 7323 §5.3 R1 for an ACK that only arrived out of order. PAWS exists to
    /// keep an old duplicate's *data* out of the stream (RFC 7323 §5.2, §5.3 R1: the segment is
    /// "not acceptable"); a pure ACK at RCV.NXT that acknowledges nothing new and leaves the
    /// send window as it is carries no data to accept and changes no state but the SACK
    /// scoreboard, and dropping it throws away the SACK blocks that loss recovery needs (and,
    /// under reordering, drops the ACK of a moment ago whose TSval is one tick older). Linux
    /// takes such ACKs (tcp_disordered_ack); so do we, when the timestamp is at most one RTO old
    /// (older still could be a previous incarnation's). Segments with data, SYN or FIN still
    /// follow R1, and TS.Recent never moves backwards (§4.3: only SEG.TSval >= TS.Recent).
    private func isReorderedPureAck(_ seg: TCPSegment, timestamp: UInt32) -> Bool {
        guard seg.hasAck, seg.payload.isEmpty, !seg.syn, !seg.fin, !seg.rst, seg.seq == rcvNxt,
              seg.ack <= sndUna, seg.ack >= sndUna - max(maxSndWnd, 1) else { return false }
        // The window would be taken from this ACK only at SND.UNA: it must be unchanged.
        if seg.ack == sndUna && Int(seg.window) << Int(options.sendScale) != sndWnd { return false }
        let age = Int64(Int32(bitPattern: tsRecent &- timestamp))
        return age <= rto.current.nanoseconds / 1_000_000
    }

    /// RFC 9293 §3.10.7.4, first step.
    private func isAcceptable(_ seg: TCPSegment, window: Int) -> Bool {
        let length = seg.length
        if length == 0 {
            return window == 0 ? seg.seq == rcvNxt : seg.seq.isIn(start: rcvNxt, length: window)
        }
        guard window > 0 else { return false }
        return seg.seq.isIn(start: rcvNxt, length: window)
            || (seg.seq + (length - 1)).isIn(start: rcvNxt, length: window)
    }

    // MARK: SYN-SENT

    /// RFC 9293 §3.10.7.3.
    private func receiveInSynSent(_ seg: TCPSegment, stack: NetworkStack, now: Instant) {
        if seg.hasAck {
            guard seg.ack > iss && seg.ack <= sndMax else {
                if !seg.rst { stack.tcpSendReset(tuple: tuple, seq: seg.ack, ack: nil, now: now) }
                return
            }
        }
        if seg.rst {
            // RFC 5961 §3.2 keeps this rule: acceptable only if it acknowledges our SYN.
            if seg.hasAck {
                stack.statistics.tcpOpenFailures += 1
                stack.statistics.tcpResetsReceived += 1
                closeReason = .refused
                enterClosed()
            }
            return
        }
        guard seg.syn else { return }
        irs = seg.seq
        rcvNxt = seg.seq + 1
        lastReceived = now
        options.negotiate(peer: seg.options, offeredScale: offeredScale, offeredSACK: offerSACK,
                          offeredTimestamps: offerTimestamps, localMSS: localMSS)
        if options.timestamps, let ts = seg.options.timestamp { tsRecent = ts.value }
        // RFC 7323 §2.2: the window of a SYN is never scaled.
        sndWnd = Int(seg.window)
        maxSndWnd = sndWnd
        sndWl1 = seg.seq
        startCongestionControl(stack.configuration)
        if seg.hasAck {
            sndWl2 = seg.ack
            takeRTTSample(seg, stack: stack, now: now)
            sndUna = seg.ack
            timers.retransmit = nil
            retransmitCount = 0
            becomeEstablished(stack: stack, now: now)
            ackNeeded = true
            output(stack: stack, now: now)
            if ackNeeded { sendAck(stack: stack, now: now) }
        } else {
            // Simultaneous open (RFC 9293 Figure 8): SYN-RECEIVED, and a SYN-ACK.
            state = .synReceived
            sendSYN(stack: stack, now: now)
        }
    }

    // MARK: Steps

    /// RFC 9293 §3.10.7.4, second step, for an RST that matched RCV.NXT exactly.
    private func receiveReset(stack: NetworkStack) {
        stack.statistics.tcpResetsReceived += 1
        switch state {
        case .synReceived:
            if passive {
                detachFromListener(stack: stack)
            } else {
                closeReason = .refused
                stack.statistics.tcpOpenFailures += 1
            }
        case .established, .finWait1, .finWait2, .closeWait:
            closeReason = .reset
            stack.statistics.tcpConnectionsReset += 1
            flushBuffers()
        default:
            break
        }
        enterClosed()
    }

    /// SYN-RECEIVED (or SYN-SENT) to ESTABLISHED; a passively opened block joins its listener's
    /// accept queue.
    func becomeEstablished(stack: NetworkStack, now: Instant) {
        stack.statistics.tcpConnectionsEstablished += 1
        state = finQueued ? .finWait1 : .established
        if let endpoint = listener {
            listener = nil
            endpoint.synQueueCount -= 1
            guard !endpoint.isClosed, endpoint.acceptQueue.count < endpoint.backlog else {
                stack.statistics.tcpListenOverflows += 1
                abortWithReset(stack: stack, now: now, reason: .aborted)
                return
            }
            endpoint.acceptQueue.append(self)
        }
        armKeepAlive(now: now, configuration: stack.configuration)
    }

    /// Leaves the listener's SYN queue without joining its accept queue.
    func detachFromListener(stack: NetworkStack) {
        if let endpoint = listener {
            endpoint.synQueueCount -= 1
            listener = nil
        }
    }

    /// RTT from the timestamp echo (RFC 7323 §4.1) or from the timed segment (RFC 6298 §3, Karn).
    private func takeRTTSample(_ seg: TCPSegment, stack: NetworkStack, now: Instant) {
        if options.timestamps, let ts = seg.options.timestamp, ts.echoReply != 0 {
            let elapsed = Int32(bitPattern: timestampValue(now) &- ts.echoReply)
            if elapsed >= 0 { rto.addSample(.milliseconds(Int64(elapsed))) }
            rttTiming = nil
        } else if let timing = rttTiming, seg.ack > timing.seq {
            rto.addSample(now - timing.sentAt)
            rttTiming = nil
        }
    }

    /// RFC 9293 §3.10.7.4, fifth step, for an acceptable ACK; congestion control and loss
    /// recovery (RFC 5681 §3.2, RFC 6582 §3.2, SACK scoreboard after RFC 6675).
    private func processAck(_ seg: TCPSegment, stack: NetworkStack, now: Instant) {
        let ack = seg.ack
        let smss = options.segmentSize
        let previousUna = sndUna
        let priorInflight = bbr != nil ? sent.pipe(below: sndMax) : 0
        var dsack = false
        // The send window (RFC 9293 §3.10.7.4: only from a newer segment).
        var windowChanged = false
        if ack >= sndUna && (sndWl1 < seg.seq || (sndWl1 == seg.seq && sndWl2 <= ack)) {
            let window = Int(seg.window) << Int(options.sendScale)
            windowChanged = window != sndWnd
            sndWnd = window
            maxSndWnd = max(maxSndWnd, window)
            sndWl1 = seg.seq
            sndWl2 = ack
            if window > 0 {
                timers.persist = nil
                persistBackoff = 0
                zeroWindowProbeEnd = nil
            }
        }
        if options.sack && !seg.options.sackBlocks.isEmpty {
            scoreboard.update(with: seg.options.sackBlocks, unacknowledged: SequenceNumber.max(ack, sndUna), sendMax: sndMax)
            dsack = TCPSACKScoreboard.isDuplicateReport(seg.options.sackBlocks, ack: ack)
            rack.updateReorderingWindow(dsack: dsack, unacknowledged: sndUna, sendNext: sndNxt)
        }

        if ack > sndUna {
            let acked = ack - sndUna
            // Options timestamps on the ACK of new data give a sample (RFC 7323 §4.2).
            takeRTTSample(seg, stack: stack, now: now)
            let dataAcked = min(max(0, ack - sendBase), sendBuffer.count)
            sendBuffer.consume(dataAcked)
            sendBase = sendBase + dataAcked
            sndUna = ack
            if sndNxt < sndUna { sndNxt = sndUna }
            if sndMax < sndUna { sndMax = sndUna }
            scoreboard.acknowledge(through: sndUna)
            if options.sack {
                sent.acknowledge(through: sndUna) { rackDelivered($0, seg: seg, now: now) }
                // RFC 8985 §7.4: the probe's episode ends once what it covered is acknowledged.
                if let probeEnd = rack.probeEnd, sndUna >= probeEnd {
                    rack.probeEnd = nil
                    if rack.probeWasRetransmission && !rack.probeDuplicated && !inRecovery && bbr == nil {
                        // §7.4.2: unless a DSACK showed the probe only duplicated a delivered
                        // segment, it repaired a loss: the window is reduced once.
                        congestion.onCongestionEvent(flightSize: sndMax - sndUna, now: now)
                        congestion.cwnd = congestion.ssthresh
                    }
                }
            }
            retransmitCount = 0
            duplicateAcks = 0
            if inRecovery {
                if ack >= recover {
                    // RFC 6582 §3.2 step 3: full acknowledgment.
                    inRecovery = false
                    congestion.onRecoveryExit(flightSize: sndMax - sndUna)
                    bbr?.exitRecovery(cwnd: &congestion.cwnd)
                    rack.recoveryEnded()
                } else {
                    // Step 5: a partial acknowledgment. With SACK, RACK judges the next
                    // segment from its send time instead (RFC 8985 §6.2).
                    if !options.sack {
                        let deflated = congestion.cwnd - acked + (acked >= smss ? smss : 0)
                        congestion.cwnd = max(deflated, smss)
                        retransmit(from: sndUna, maxLength: smss, stack: stack, now: now)
                    }
                    timers.retransmit = now + rto.current
                }
            } else {
                congestion.onAck(acked: acked, now: now, smoothedRTT: rto.smoothed)
                // The end of a timeout's recovery (RFC 6582 "recover" was set to SND.MAX then).
                if ack >= recover { bbr?.exitRecovery(cwnd: &congestion.cwnd) }
            }
            // RFC 6298 §5.2, §5.3.
            if sndUna == sndMax {
                timers.retransmit = nil
            } else if !inRecovery {
                timers.retransmit = now + rto.current
            }
            switch state {
            case .finWait1 where finAcknowledged:
                state = .finWait2
                if applicationClosed {
                    timers.finWait2 = now + stack.configuration.tcpFinWait2Timeout
                }
            case .closing where finAcknowledged:
                enterTimeWait(stack: stack, now: now)
            case .lastAck where finAcknowledged:
                enterClosed()
            default:
                break
            }
        } else if ack == sndUna && sndMax > sndUna && seg.payload.isEmpty && !seg.syn && !seg.fin
                    && !windowChanged {
            // RFC 5681 §2: a duplicate acknowledgment.
            stack.statistics.tcpDuplicateACKs += 1
            duplicateAcks += 1
            if inRecovery {
                // RFC 6582 inflation; with SACK, pipe (RFC 6675 §4) counts what left instead.
                if !options.sack { congestion.cwnd += smss }
            } else if duplicateAcks == TCPRACKState.duplicateThreshold && ack > recover
                        && !(options.sack && rack.reorderingSeen) {
                // With SACK, once reordering has been seen RACK's time window replaces the
                // duplicate-ACK count (RFC 8985 §6.2 step 4), which reordering trips.
                enterRecovery(stack: stack, now: now)
            }
        }
        // After the ACK's own processing (a recovery it completes has set its window already).
        if dsack { receivedDuplicateReport(stack: stack) }
        if options.sack && sndUna < sndMax {
            sent.markSacked(scoreboard) { rackDelivered($0, seg: seg, now: now) }
            detectLosses(stack: stack, now: now)
            // RFC 8985 §7.2: the PTO restarts on an ACK of new data.
            if sndUna > previousUna { armProbeTimer(now: now) }
        } else if sndUna == sndMax {
            timers.reorder = nil
            timers.probe = nil
        }
        if bbr != nil {
            let sample = deliveryRate.takeSample(minimumRTT: rack.minimumRTT)
            bbr?.onAck(sample, delivered: deliveryRate.delivered, inflight: sent.pipe(below: sndMax),
                       priorInflight: priorInflight, cwnd: &congestion.cwnd, now: now)
        }
    }

    /// A DSACK (RFC 2883): a segment arrived twice. If the probe was the duplicate it repaired
    /// nothing (RFC 8985 §7.4.2); once every retransmission of the last recovery has been
    /// reported so, the recovery was spurious and its reduction is undone (RFC 3708 §3).
    private func receivedDuplicateReport(stack: NetworkStack) {
        if rack.probeEnd != nil && rack.probeWasRetransmission { rack.probeDuplicated = true }
        guard var undo = recoveryUndo else { return }
        undo.duplicates += 1
        recoveryUndo = undo
        guard undo.retransmissions > 0 && undo.duplicates >= undo.retransmissions else { return }
        recoveryUndo = nil
        stack.statistics.tcpSpuriousRecoveriesUndone += 1
        congestion.cwnd = max(congestion.cwnd, undo.cwnd)
        congestion.ssthresh = max(congestion.ssthresh, undo.ssthresh)
    }

    /// RFC 8985 §6.2 step 2 for a segment this ACK delivered (cumulatively or by SACK). The RTT of
    /// a retransmitted segment is ambiguous unless the echoed timestamp shows the ACK is for the
    /// retransmission (RFC 8985 §6.2 step 2, RFC 7323 §4.2).
    private func rackDelivered(_ segment: TCPSentSegment, seg: TCPSegment, now: Instant) {
        var ambiguous = false
        if segment.retransmitted {
            if options.timestamps, let ts = seg.options.timestamp {
                ambiguous = Int32(bitPattern: ts.echoReply &- timestampValue(segment.sentAt)) < 0
            } else {
                ambiguous = now - segment.sentAt < (rack.minimumRTT ?? .zero)
            }
        }
        rack.update(delivered: segment, now: now, ambiguous: ambiguous)
        deliveryRate.onDelivered(segment, now: now, ambiguous: ambiguous)
    }

    /// Marks lost segments: RACK (RFC 8985 §6.2 step 5) from the send time of the most recently
    /// delivered segment and the reordering window, and while no reordering has been seen also
    /// RFC 6675 §4 IsLost (DupThresh discontiguous SACKed ranges, or more than
    /// (DupThresh - 1) * SMSS SACKed bytes, above). A newly lost segment starts loss recovery.
    /// Only segments below SND.NXT count: after a timeout the rest is resent anyway (go-back-N).
    func detectLosses(stack: NetworkStack, now: Instant) {
        timers.reorder = nil
        guard options.sack, !sent.isEmpty else { return }
        var lost = 0
        if let latest = rack.transmitTime {
            let window = rack.reorderingWindow(inRecovery: inRecovery, sackedSegments: sent.sackedCount,
                                               smoothedRTT: rto.smoothed)
            var timeout = Interval.zero
            for i in sent.segments.indices {
                let segment = sent.segments[i]
                guard segment.end <= sndNxt else { break }
                if segment.sacked || segment.lost { continue }
                // RACK.sent_after: only segments sent before the delivered one are judged. At
                // the same instant the sequence breaks the tie, except for a retransmission,
                // which went out after the original it replaced.
                if segment.sentAt > latest
                    || (segment.sentAt == latest && (segment.retransmitted || segment.end >= rack.endSequence)) {
                    continue
                }
                let remaining = (segment.sentAt + rack.rtt + window) - now
                if remaining <= .zero {
                    deliveryRate.onLost(sent.markLost(at: i))
                    lost += 1
                } else if timeout < remaining {
                    timeout = remaining
                }
            }
            stack.statistics.tcpRACKLosses += lost
            // §6.3: the reordering timer re-runs detection when the last waiting one is due.
            if timeout > .zero { timers.reorder = now + timeout }
        }
        if !rack.reorderingSeen && !scoreboard.isEmpty {
            let smss = options.segmentSize
            var bytesAbove = 0
            var rangesAbove = 0
            var aboveWasSacked = false
            var i = sent.count - 1
            // Bounded by the record count; from the top down.
            while i >= 0 {
                let segment = sent.segments[i]
                if segment.sacked {
                    if !aboveWasSacked { rangesAbove += 1 }
                    bytesAbove += segment.length
                } else if segment.end <= sndNxt && !segment.lost && !segment.retransmitted
                            && (rangesAbove >= TCPRACKState.duplicateThreshold
                                || bytesAbove > (TCPRACKState.duplicateThreshold - 1) * smss) {
                    deliveryRate.onLost(sent.markLost(at: i))
                    lost += 1
                }
                aboveWasSacked = segment.sacked
                i -= 1
            }
        }
        if lost > 0 && !inRecovery {
            enterRecovery(stack: stack, now: now, reduce: sndUna >= recover)
        }
    }

    /// RFC 6582 §3.2 step 2 (RFC 6675 §5 when the peer SACKs). `reduce` is false for losses
    /// found among what a timeout already resent, whose window was reduced then.
    private func enterRecovery(stack: NetworkStack, now: Instant, reduce: Bool = true) {
        let smss = options.segmentSize
        stack.statistics.tcpFastRetransmits += 1
        if reduce, bbr != nil {
            // BBR: no multiplicative decrease, packet conservation for a round (TCPBBR.swift).
            recoveryUndo = nil
            recover = sndMax
            bbr?.enterRecovery(cwnd: congestion.cwnd)
        } else if reduce {
            recoveryUndo = options.sack ? TCPRecoveryUndo(cwnd: congestion.cwnd, ssthresh: congestion.ssthresh) : nil
            congestion.onCongestionEvent(flightSize: sndMax - sndUna, now: now)
            recover = sndMax
            let sacking = options.sack && !scoreboard.isEmpty
            // RFC 6675 §5 (4.2): cwnd = ssthresh; RFC 6582 inflates by the three duplicates.
            congestion.cwnd = congestion.ssthresh + (sacking ? 0 : 3 * smss)
        }
        inRecovery = true
        rttTiming = nil
        timers.probe = nil
        rack.rescueRetransmitted = nil
        highRetransmitted = sndUna
        // RFC 6675 §5 (4.3): the first segment presumed lost goes out now, whatever pipe says.
        var first = sndUna
        if options.sack, let lost = sent.segments.first(where: { $0.lost }) { first = lost.start }
        let covered = retransmit(from: first, maxLength: smss, stack: stack, now: now)
        highRetransmitted = first + covered
        timers.retransmit = now + rto.current
    }

    /// Takes in-window data at `seq` (at or after RCV.NXT).
    private func acceptData(_ payload: UnsafeRawBufferPointer, at seq: SequenceNumber, stack: NetworkStack) {
        let offset = seq - rcvNxt
        if offset == 0 {
            receiveBuffer.write(payload, at: receiveBuffer.count)
            receiveBuffer.commit(payload.count)
            rcvNxt = rcvNxt + payload.count
            let reach = reassembly.advance(rcvNxt)
            if reach > rcvNxt {
                // A hole filled: the data behind it becomes readable; acknowledge at once
                // (RFC 5681 §4.2).
                receiveBuffer.commit(reach - rcvNxt)
                rcvNxt = reach
                ackNeeded = true
            }
            unackedSegments += 1
            // RFC 9293 §3.8.6.3 (RFC 5681 §4.2): at least every second full-sized segment.
            if unackedSegments >= 2 || !reassembly.isEmpty { ackNeeded = true }
        } else {
            if reassembly.insert(seq, seq + payload.count) {
                receiveBuffer.write(payload, at: receiveBuffer.count + offset)
                stack.statistics.tcpOutOfOrderSegments += 1
            } else {
                stack.statistics.tcpOutOfOrderDrops += 1
            }
            // RFC 5681 §4.2: an out-of-order segment is acknowledged at once (a duplicate ACK).
            ackNeeded = true
        }
    }

    /// RFC 9293 §3.10.7.4, eighth step, for a FIN at RCV.NXT.
    private func receiveFin(stack: NetworkStack, now: Instant) {
        pendingFin = nil
        guard !finReceived else { return }
        finReceived = true
        rcvNxt = rcvNxt + 1
        ackNeeded = true
        switch state {
        case .synReceived, .established:
            state = .closeWait
        case .finWait1:
            if finAcknowledged {
                enterTimeWait(stack: stack, now: now)
            } else {
                state = .closing
            }
        case .finWait2:
            enterTimeWait(stack: stack, now: now)
        default:
            break
        }
    }

    func enterTimeWait(stack: NetworkStack, now: Instant) {
        state = .timeWait
        timers.stopAll()
        timers.timeWait = now + stack.configuration.tcpMaximumSegmentLifetime * 2
        reassembly.removeAll()
        scoreboard.removeAll()
        sent.removeAll()
    }
}
