from target_mongo_upsert.target import main

main()
