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
            if Int32(bitPattern: ts.value &- tsRecent) < 0 {
                stack.statistics.tcpPAWSDrops += 1
                sendAck(stack: stack, now: now)
                return
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
            retransmitCount = 0
            duplicateAcks = 0
            if inRecovery {
                if ack >= recover {
                    // RFC 6582 §3.2 step 3: full acknowledgment.
                    inRecovery = false
                    congestion.onRecoveryExit(flightSize: sndMax - sndUna)
                } else {
                    // Step 5: a partial acknowledgment.
                    if !options.sack || scoreboard.isEmpty {
                        let deflated = congestion.cwnd - acked + (acked >= smss ? smss : 0)
                        congestion.cwnd = max(deflated, smss)
                        retransmit(from: sndUna, maxLength: smss, stack: stack, now: now)
                    }
                    timers.retransmit = now + rto.current
                }
            } else {
                congestion.onAck(acked: acked, now: now, smoothedRTT: rto.smoothed)
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
                if !options.sack || scoreboard.isEmpty { congestion.cwnd += smss }
            } else if duplicateAcks == 3 && ack > recover {
                enterRecovery(stack: stack, now: now)
            }
        }
    }

    /// RFC 6582 §3.2 step 2 (RFC 6675 §5 when the peer SACKs).
    private func enterRecovery(stack: NetworkStack, now: Instant) {
        let smss = options.segmentSize
        stack.statistics.tcpFastRetransmits += 1
        congestion.onCongestionEvent(flightSize: sndMax - sndUna, now: now)
        recover = sndMax
        inRecovery = true
        rttTiming = nil
        let sacking = options.sack && !scoreboard.isEmpty
        congestion.cwnd = congestion.ssthresh + (sacking ? 0 : 3 * smss)
        highRetransmitted = sndUna
        let sent = retransmit(from: sndUna, maxLength: smss, stack: stack, now: now)
        highRetransmitted = sndUna + sent
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
    }
}
