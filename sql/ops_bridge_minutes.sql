-- Bridged rows finished per minute, bridge and system since $1 (symphony.bridge_minutes).
select minute, bridge, system, finished, succeeded, failed, handed_back, latency
  from symphony.bridge_minutes
 where minute >= $1
 order by minute, bridge, system
