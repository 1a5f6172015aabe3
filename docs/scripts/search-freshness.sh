#!/bin/bash
# Freshness: how long from "ticket created" (201) to "found by search", 20 times.
B=${OTKLIK:-target/release/otklik}; D=$(mktemp -d); P=18131
$B workspace create fresh --owner o@fresh.example --password fresh-password --data-dir $D >/dev/null 2>&1
TOKEN=$($B token create --workspace fresh --user o@fresh.example --name t --data-dir $D 2>/dev/null | tail -1)
($B serve --data-dir $D --listen 127.0.0.1:$P >/dev/null 2>&1 &)
sleep 3
for i in $(seq 1 20); do
  W="слово$RANDOM$i"
  T0=$(date +%s%N)
  curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \
    -d "{\"subject\":\"Проверка $W\",\"customer\":{\"email\":\"c$i@example.com\"},\"message\":{\"body\":\"текст\"}}" http://127.0.0.1:$P/api/v1/tickets
  while ! curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$P/api/v1/tickets?q=$W" | grep -q "$W"; do sleep 0.01; done
  T1=$(date +%s%N); echo $(( (T1-T0)/1000000 ))
done | sort -n | awk '{a[NR]=$1} END{print "freshness ms: min",a[1],"median",a[int((NR+1)/2)],"max",a[NR]}'
pkill -f "listen 127.0.0.1:$P"
